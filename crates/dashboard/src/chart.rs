//! The charming (ECharts) charts: each agent's total CPU and memory, and the selected
//! container's detail. A chart is created once per element and then updated in place through
//! its kept [`Echarts`] handle; animation is off so updates are cheap and screenshots stable.

use charming::component::{Axis, Grid, Legend};
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

/// Shortest time span a chart shows, so the first samples are not stretched over the width.
const MIN_SPAN_MS: f64 = 60_000.0;

/// A two-axis time chart: CPU % on the left, memory MiB on the right. The title is HTML next
/// to the chart (it wraps on narrow screens; a canvas title would overlap the legend).
pub fn cpu_mem_chart(cpu: Points, mem: Points, theme: Theme) -> Chart {
    let p = palette(theme);
    let times = || {
        cpu.iter()
            .chain(mem.iter())
            .filter_map(|point| point.first().copied())
    };
    let newest = times().fold(f64::NEG_INFINITY, f64::max);
    let oldest = times().fold(f64::INFINITY, f64::min);
    let mut x_axis = Axis::new()
        .type_(AxisType::Time)
        .axis_label(label_style(&p));
    if newest.is_finite() {
        x_axis = x_axis.min(oldest.min(newest - MIN_SPAN_MS)).max(newest);
    }
    let label = || label_style(&p);
    let split = || SplitLine::new().line_style(LineStyle::new().color(p.grid));
    Chart::new()
        .animation(false)
        .background_color("transparent")
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(
            Legend::new()
                .top(0)
                .left("center")
                .text_style(TextStyle::new().color(p.text)),
        )
        .grid(Grid::new().left(44).right(52).top(40).bottom(24))
        .x_axis(x_axis)
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

fn label_style(p: &Palette) -> AxisLabel {
    AxisLabel::new().color(p.text)
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
