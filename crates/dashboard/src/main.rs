//! Entry point trunk builds into the page; see the crate docs for the layout.

#[cfg(target_arch = "wasm32")]
fn main() {
    dockscope_dashboard::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "dockscope-dashboard runs in a browser: build it with `trunk build --release` in \
         crates/dashboard and open it through `dockscope-agent --serve-ui`"
    );
    std::process::exit(2);
}
