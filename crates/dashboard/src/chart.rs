//! The charming (ECharts) charts: each agent's total CPU and memory, and the selected
//! container's detail. A chart is created once per element and then updated in place through
//! its kept [`Echarts`] handle; animation is off so updates are cheap and screenshots stable.

use charming::component::{Axis, Grid, Legend, Title};
use charming::element::{AxisLabel, AxisType, LineStyle, SplitLine, TextStyle, Tooltip, Trigger};
use charming::series::Line;
use charming::{Chart, Echarts, WasmRenderer};
use wasm_bindgen::{JsCast, JsValue};

use crate::present::Points;
use crate::store::Theme;

/// Height of every chart, in CSS pixels; the width follows the element.
pub const HEIGHT: u32 = 180;

struct Palette {
    text: &'static str,
    grid: &'static str,
    cpu: &'static str,
    mem: &'static str,
}

fn palette(theme: Theme) -> Palette {
    match theme {
        Theme::Dark => Palette {
            text: "#c9d1d9",
            grid: "#30363d",
            cpu: "#58a6ff",
            mem: "#f0883e",
        },
        Theme::Light => Palette {
            text: "#24292f",
            grid: "#d0d7de",
            cpu: "#0969da",
            mem: "#bc4c00",
        },
    }
}

/// A two-axis time chart: CPU % on the left, memory MiB on the right.
pub fn cpu_mem_chart(title: &str, cpu: Points, mem: Points, theme: Theme) -> Chart {
    let p = palette(theme);
    let label = || AxisLabel::new().color(p.text);
    let split = || SplitLine::new().line_style(LineStyle::new().color(p.grid));
    Chart::new()
        .animation(false)
        .background_color("transparent")
        .title(
            Title::new()
                .text(title)
                .text_style(TextStyle::new().color(p.text).font_size(13)),
        )
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(
            Legend::new()
                .top(0)
                .right(8)
                .text_style(TextStyle::new().color(p.text)),
        )
        .grid(Grid::new().left(48).right(56).top(36).bottom(28))
        .x_axis(Axis::new().type_(AxisType::Time).axis_label(label()))
        .y_axis(
            Axis::new()
                .type_(AxisType::Value)
                .name("CPU %")
                .min(0)
                .axis_label(label())
                .split_line(split()),
        )
        .y_axis(
            Axis::new()
                .type_(AxisType::Value)
                .name("MiB")
                .min(0)
                .axis_label(label())
                .split_line(SplitLine::new().show(false)),
        )
        .series(
            Line::new()
                .name("CPU %")
                .show_symbol(false)
                .line_style(LineStyle::new().color(p.cpu).width(1.5))
                .data(cpu),
        )
        .series(
            Line::new()
                .name("Memory MiB")
                .y_axis_index(1)
                .show_symbol(false)
                .line_style(LineStyle::new().color(p.mem).width(1.5))
                .data(mem),
        )
        .color(vec![p.cpu, p.mem])
}

/// Initialises a chart in the element with `id`.
///
/// # Errors
/// When the element is missing or ECharts is not loaded.
pub fn render(id: &str, chart: &Chart) -> Result<Echarts, String> {
    WasmRenderer::new_opt(None, Some(HEIGHT))
        .render(id, chart)
        .map_err(|e| format!("chart {id}: {e:?}"))
}

/// Replaces the chart's data in place.
pub fn update(echarts: &Echarts, chart: &Chart) {
    WasmRenderer::update(echarts, chart);
}

/// Follows the element's new size.
pub fn resize(echarts: &Echarts) {
    echarts.resize(JsValue::UNDEFINED);
}

/// Frees the ECharts instance (its element may be about to leave the DOM).
pub fn dispose(echarts: &Echarts) {
    let target: &JsValue = echarts.as_ref();
    if let Ok(method) = js_sys::Reflect::get(target, &JsValue::from_str("dispose")) {
        if let Some(function) = method.dyn_ref::<js_sys::Function>() {
            let _ = function.call0(target);
        }
    }
}
