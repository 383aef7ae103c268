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
        let (min, interval) = time_ticks(oldest.min(newest - MIN_SPAN_MS), newest);
        x_axis = x_axis.min(min).max(newest).interval(interval);
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

/// A round tick interval giving at most four labels between `oldest` and `newest` (ECharts
/// otherwise labels a one-minute span every 5 s, which overlaps), and the axis start aligned
/// to it so the labels fall on round times.
fn time_ticks(oldest: f64, newest: f64) -> (f64, f64) {
    const STEPS_MS: [f64; 7] = [10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3];
    let span = (newest - oldest).max(1.0);
    let interval = STEPS_MS
        .iter()
        .copied()
        .find(|step| span / step <= 4.0)
        .unwrap_or(600e3);
    ((oldest / interval).floor() * interval, interval)
}

fn label_style(p: &Palette) -> AxisLabel {
    AxisLabel::new().color(p.text)
}

/// Initialises a chart in the element with `id`.
///
/// # Errors
/// When the element is missing or ECharts is not loaded.
pub fn render(id: &str, chart: &Chart) -> Result<Echarts, String> {
    // Canvas renderer: measured cheaper here than ECharts' SVG renderer, whose patched
    // elements cost more in style and layout than one canvas repaint.
    WasmRenderer::new_opt(None, Some(HEIGHT))
        .render(id, chart)
        .map_err(|e| format!("chart {id}: {e:?}"))
}

/// Replaces the chart's data in place. `lazyUpdate` leaves the repaint to ECharts' own next
/// animation frame, so the option merge and the canvas repaint land in different frames.
pub fn update(echarts: &Echarts, chart: &Chart) {
    let target: &JsValue = echarts.as_ref();
    let option = match serde_wasm_bindgen::to_value(chart) {
        Ok(option) => option,
        Err(_) => return WasmRenderer::update(echarts, chart),
    };
    let settings = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&settings, &"lazyUpdate".into(), &JsValue::TRUE);
    let _ = js_sys::Reflect::set(&settings, &"silent".into(), &JsValue::TRUE);
    match js_sys::Reflect::get(target, &"setOption".into()) {
        Ok(method) => match method.dyn_ref::<js_sys::Function>() {
            Some(set_option) => {
                let _ = set_option.call2(target, &option, &settings);
            }
            None => WasmRenderer::update(echarts, chart),
        },
        Err(_) => WasmRenderer::update(echarts, chart),
    }
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
