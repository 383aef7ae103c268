//! Alert rules: what draws the eye to a container (its memory near the limit, a restart loop,
//! a failing health check, an OOM kill), shared by the dashboard, which evaluates them in the
//! browser, and the agent, which evaluates the same rules for `--alert-webhook`.
//!
//! - [`rule`]: a [`Rule`] (a [`Condition`] and the agents and container names it covers), the
//!   [`default_rules`], and the [`RuleFile`] both sides read and write.
//! - [`glob`]: container name patterns (`*`, `?`).
//! - [`eval`]: the [`Evaluator`], fed one batch at a time, says which alerts fired and which
//!   cleared; it keeps only what conditions over time need (a restart count's history, when CPU
//!   went above its threshold).
//!
//! Nothing here reads a clock or does I/O: callers pass the time, so the same batches give the
//! same alerts in a test, in the browser and in the agent.

pub mod eval;
pub mod glob;
pub mod rule;

pub use eval::{Alert, Cause, Change, Evaluator};
pub use rule::{default_rules, Condition, Rule, RuleError, RuleFile};
