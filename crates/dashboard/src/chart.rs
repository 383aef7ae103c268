//! The charming (ECharts) charts: each agent's total CPU and memory, and the selected
//! container's detail. A chart is created once per element and then updated in place through
//! its kept [`Echarts`] handle; animation is off so updates are cheap and screenshots stable.
//! [`ChartSlot`] is the one owner of such a handle: it creates, updates, resizes and disposes
//! it (also when dropped), so the per-frame runtime holds slots and never a bare handle.

use charming::component::{Axis, Grid, Legend};
use charming::element::{
    AxisLabel, AxisType, Label, LabelPosition, LineStyle, LineStyleType, MarkLine, MarkLineData,
    MarkLineVariant, SplitLine, Symbol, TextStyle, Tooltip, Trigger,
};
use charming::series::Line;
use charming::{Chart, Echarts};
use wasm_bindgen::{JsCast, JsValue};

use crate::present::Points;
use crate::roster::ChartId;
use crate::store::Theme;
use crate::time_axis;

/// The vendored ECharts (`vendor/echarts.min.js`), copied into the bundle as it is by trunk
/// (`index.html`, `rel="copy-file"`) and loaded by [`ready`] when the first chart is due,
/// not with the page: parsing its megabyte takes the main thread about 0.3 s, which the first
/// rows need more. Relative, like the worker's loader, so a page under a path prefix finds it.
const ECHARTS_SRC: &str = "echarts.min.js";

thread_local! {
    /// Whether the script element for ECharts has been added (once per page; a failed load is
    /// not retried: the charts stay empty, and everything else works).
    static ECHARTS_ASKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether ECharts is loaded. The first call without it adds its script to the page and
/// returns `false`; `on_load` runs once it has loaded (to draw the charts that waited).
pub fn ready(on_load: fn()) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let loaded = js_sys::Reflect::get(&window, &"echarts".into())
        .ok()
        .is_some_and(|e| !e.is_undefined());
    if loaded || ECHARTS_ASKED.with(|asked| asked.replace(true)) {
        return loaded;
    }
    let script = window
        .document()
        .and_then(|d| d.create_element("script").ok())
        .and_then(|e| e.dyn_into::<web_sys::HtmlScriptElement>().ok());
    let head = window.document().and_then(|d| d.head());
    if let (Some(script), Some(head)) = (script, head) {
        script.set_src(ECHARTS_SRC);
        script.set_async(true);
        let done = wasm_bindgen::closure::Closure::once_into_js(on_load);
        script.set_onload(Some(done.unchecked_ref()));
        let _ = head.append_child(&script);
    }
    false
}

/// One chart of the page: the element it draws into and, once drawn, its ECharts instance.
/// Dropping the slot (its card removed) disposes the instance.
pub struct ChartSlot {
    id: ChartId,
    handle: Option<Echarts>,
}

impl ChartSlot {
    pub fn new(id: ChartId) -> Self {
        Self { id, handle: None }
    }

    /// Whether an ECharts instance exists (the next [`ChartSlot::draw`] updates it in place).
    pub fn is_drawn(&self) -> bool {
        self.handle.is_some()
    }

    /// Updates the chart in place, or creates it in its element the first time.
    ///
    /// # Errors
    /// When the element is not in the page yet or ECharts is missing: nothing is drawn.
    pub fn draw(&mut self, chart: &Chart) -> Result<(), String> {
        match &self.handle {
            Some(handle) => update(handle, chart),
            None => self.handle = Some(render(&self.id.element_id(), chart)?),
        }
        Ok(())
    }

    /// The width of the chart's element in CSS pixels, once it is in the page (the time axis
    /// spaces its labels by it).
    pub fn width(&self) -> Option<f64> {
        let element = web_sys::window()?
            .document()?
            .get_element_by_id(&self.id.element_id())?;
        Some(f64::from(element.client_width())).filter(|w| *w > 0.0)
    }

    /// Follows the element's new size (ECharts does not watch its element).
    pub fn resize(&self) {
        if let Some(handle) = &self.handle {
            resize(handle);
        }
    }

    /// Frees the instance; the next draw creates a new one (new theme, new element).
    pub fn reset(&mut self) {
        if let Some(handle) = self.handle.take() {
            dispose(&handle);
        }
    }
}

impl Drop for ChartSlot {
    fn drop(&mut self) {
        self.reset();
    }
}

/// Height of every chart, in CSS pixels; the width follows the element.
pub const HEIGHT: u32 = 180;

struct Palette {
    text: &'static str,
    grid: &'static str,
    cpu: &'static str,
    mem: &'static str,
    /// Event marks (deaths, OOM kills, restarts, unhealthy).
    event: &'static str,
}

fn palette(theme: Theme) -> Palette {
    match theme {
        Theme::Dark => Palette {
            text: "#c9d1d9",
            grid: "#30363d",
            cpu: "#58a6ff",
            mem: "#f0883e",
            event: "#f85149",
        },
        Theme::Light => Palette {
            text: "#24292f",
            grid: "#d0d7de",
            cpu: "#0969da",
            mem: "#bc4c00",
            event: "#cf222e",
        },
    }
}

/// Shortest time span a chart shows, so the first samples are not stretched over the width.
const MIN_SPAN_MS: f64 = 60_000.0;

/// A two-axis time chart: CPU % on the left (named `cpu_label`, which says its scale), memory
/// MiB on the right, `width` CSS pixels wide when known (the time labels are spaced by it), and
/// a vertical line at each of `marks` (browser time, label: a container's death, OOM kill,
/// restart or turn to unhealthy; `events::chart_marks`). The title is HTML next to the chart
/// (it wraps on narrow screens; a canvas title would overlap the legend).
pub fn cpu_mem_chart(
    cpu: Points,
    mem: Points,
    theme: Theme,
    cpu_label: &str,
    width: Option<f64>,
    marks: &[(f64, String)],
) -> Chart {
    let p = palette(theme);
    let times = || {
        cpu.iter()
            .chain(mem.iter())
            .filter_map(|point| point.first().copied())
    };
    let x_axis = time_x_axis(&p, times(), width);
    let label = || label_style(&p);
    let split = || SplitLine::new().line_style(LineStyle::new().color(p.grid));
    time_chart(&p, x_axis)
        .y_axis(
            Axis::new()
                .type_(AxisType::Value)
                .name(cpu_label)
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
                .name(cpu_label)
                .show_symbol(false)
                .line_style(LineStyle::new().color(p.cpu).width(1.5))
                .mark_line(event_marks(&p, marks))
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

/// Vertical lines at the events' times, labelled at their top.
fn event_marks(p: &Palette, marks: &[(f64, String)]) -> MarkLine {
    let data: Vec<MarkLineVariant> = marks
        .iter()
        .map(|(t, label)| {
            MarkLineVariant::Simple(MarkLineData::new().x_axis(*t).name(label.as_str()))
        })
        .collect();
    MarkLine::new()
        .silent(true)
        .symbol(vec![Symbol::None, Symbol::None])
        .line_style(
            LineStyle::new()
                .color(p.event)
                .width(1)
                .type_(LineStyleType::Dashed),
        )
        .label(
            // Along the line, at its top: marks a second apart stay legible.
            Label::new()
                .show(true)
                .position(LabelPosition::InsideEndTop)
                .formatter("{b}")
                .color(p.event)
                .font_size(10),
        )
        .data(data)
}

/// The selected container's I/O over time: one line per named series of KiB/s points.
pub fn io_chart(series: Vec<(&'static str, Points)>, theme: Theme, width: Option<f64>) -> Chart {
    let p = palette(theme);
    let colours = vec![p.cpu, p.mem, "#3fb950", "#bc8cff"];
    lines_chart(&p, series, "KiB/s", width, &colours).color(colours)
}

/// The fleet view's chart: one CPU line per host (named by its title), every point on the
/// browser's clock (each agent's skew already taken out), so hosts line up in time. The
/// lines take ECharts' own palette (there may be dozens).
pub fn fleet_chart(
    series: Vec<(String, Points)>,
    theme: Theme,
    cpu_label: &str,
    width: Option<f64>,
) -> Chart {
    lines_chart(&palette(theme), series, cpu_label, width, &[])
}

/// A line per named series against one value axis named `y_name`, on the shared time axis;
/// the n-th line in `colours[n]` when there is one.
fn lines_chart<N: Into<String>>(
    p: &Palette,
    series: Vec<(N, Points)>,
    y_name: &str,
    width: Option<f64>,
    colours: &[&'static str],
) -> Chart {
    let x_axis = time_x_axis(
        p,
        series
            .iter()
            .flat_map(|(_, points)| points.iter().filter_map(|point| point.first().copied())),
        width,
    );
    let mut chart = time_chart(p, x_axis).y_axis(
        Axis::new()
            .type_(AxisType::Value)
            .name(y_name)
            .min(0)
            .axis_label(label_style(p))
            .split_line(SplitLine::new().line_style(LineStyle::new().color(p.grid))),
    );
    for (i, (name, points)) in series.into_iter().enumerate() {
        let mut style = LineStyle::new().width(1.5);
        if let Some(colour) = colours.get(i) {
            style = style.color(*colour);
        }
        chart = chart.series(
            Line::new()
                .name(name)
                .show_symbol(false)
                .line_style(style)
                .data(points),
        );
    }
    chart
}

/// What every time chart shares: no animation, a transparent background, an axis tooltip,
/// the legend on top, the plot inset the time labels are spaced for, and `x_axis`.
fn time_chart(p: &Palette, x_axis: Axis) -> Chart {
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
        .grid(
            Grid::new()
                .left(time_axis::GRID_LEFT)
                .right(time_axis::GRID_RIGHT)
                .top(40)
                .bottom(24),
        )
        .x_axis(x_axis)
}

/// The time axis of every chart: at least [`MIN_SPAN_MS`] ending at the newest of `times`,
/// labelled at a round step spaced for `width` ([`time_axis::ticks`]).
fn time_x_axis(p: &Palette, times: impl Iterator<Item = f64> + Clone, width: Option<f64>) -> Axis {
    let newest = times.clone().fold(f64::NEG_INFINITY, f64::max);
    let oldest = times.fold(f64::INFINITY, f64::min);
    let mut x_axis = Axis::new().type_(AxisType::Time).axis_label(label_style(p));
    if newest.is_finite() {
        let (min, interval) = time_axis::ticks(oldest.min(newest - MIN_SPAN_MS), newest, width);
        // ECharts ignores `interval` on a time axis. It ticks at its estimate (span / 5)
        // clamped to `minInterval`..`maxInterval`, rounded down to its own steps (1, 2, 5, 10,
        // 15, 20, 30 s or min; ECharts 5.6 `TimeScale`), and drops a level of ticks that would
        // be too many for the estimate. Pinning both 1 % above our step makes it tick at our
        // step or coarser (a 30 s step over 65 s becomes 1 min), never finer.
        let pinned = interval * 1.01;
        x_axis = x_axis
            .min(min)
            .max(newest)
            .min_interval(pinned)
            .max_interval(pinned);
    }
    x_axis
}

fn label_style(p: &Palette) -> AxisLabel {
    AxisLabel::new().color(p.text)
}

/// Initialises a chart in the element with `id` (`echarts.init(element, null, {height})`,
/// canvas renderer) and sets its first option.
///
/// # Errors
/// When the element is missing or ECharts is not loaded.
fn render(id: &str, chart: &Chart) -> Result<Echarts, String> {
    let fail = |what: &str| format!("chart {id}: {what}");
    let window = web_sys::window().ok_or_else(|| fail("no window"))?;
    let element = window
        .document()
        .and_then(|d| d.get_element_by_id(id))
        .ok_or_else(|| fail("element not in the page yet"))?;
    let echarts = js_sys::Reflect::get(&window, &"echarts".into())
        .ok()
        .filter(|e| !e.is_undefined())
        .ok_or_else(|| fail("ECharts is not loaded"))?;
    let init: js_sys::Function = js_sys::Reflect::get(&echarts, &"init".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| fail("echarts.init is missing"))?;
    let size = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&size, &"height".into(), &JsValue::from(HEIGHT));
    let instance: Echarts = init
        .call3(&echarts, &element, &JsValue::NULL, &size)
        .map_err(|_| fail("echarts.init failed"))?
        .unchecked_into();
    update(&instance, chart);
    Ok(instance)
}

/// Replaces the chart's option in place. `lazyUpdate` leaves the repaint to ECharts' own next
/// animation frame, so the option merge and the canvas repaint land in different frames.
/// (This, not charming's `WasmRenderer`, is the only path that serialises a chart: a second
/// copy of the serialiser would add ~150 KB to the WASM.)
fn update(echarts: &Echarts, chart: &Chart) {
    let target: &JsValue = echarts.as_ref();
    let Ok(option) = serde_wasm_bindgen::to_value(chart) else {
        return;
    };
    let settings = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&settings, &"lazyUpdate".into(), &JsValue::TRUE);
    let _ = js_sys::Reflect::set(&settings, &"silent".into(), &JsValue::TRUE);
    if let Some(set_option) = js_sys::Reflect::get(target, &"setOption".into())
        .ok()
        .and_then(|m| m.dyn_into::<js_sys::Function>().ok())
    {
        let _ = set_option.call2(target, &option, &settings);
    }
}

/// Follows the element's new size.
fn resize(echarts: &Echarts) {
    echarts.resize(JsValue::UNDEFINED);
}

/// Frees the ECharts instance (its element may be about to leave the DOM).
fn dispose(echarts: &Echarts) {
    let target: &JsValue = echarts.as_ref();
    if let Ok(method) = js_sys::Reflect::get(target, &JsValue::from_str("dispose")) {
        if let Some(function) = method.dyn_ref::<js_sys::Function>() {
            let _ = function.call0(target);
        }
    }
}
