//! The descriptor budget: how many containers may keep their cgroup files open between ticks
//! (reading through a kept handle skips the path lookup and halves the cost of a small file),
//! so that kept files never crowd out client sockets.

use super::{v1, v2};

/// The most files one container's readers hold open: the larger of the two versions (v1's
/// table with `blkio` as up to three files, [`v1::MOST_FILES`]; v2's table).
pub const FILES_PER_CONTAINER: usize = if v1::MOST_FILES > v2::FILES.len() {
    v1::MOST_FILES
} else {
    v2::FILES.len()
};
/// Descriptors left for everything else (clients, the engine, logs) before any is kept open
/// for cgroup files; of the rest, half may be cgroup files.
const RESERVED_FDS: usize = 256;

/// How many containers may keep their files open, from `/proc/self/limits` (the soft limit on
/// open files): half of what is left after the 256 descriptors reserved for sockets, so a
/// default soft limit of 1024 still leaves room for hundreds of clients.
pub fn open_file_budget(limits: &str) -> usize {
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3));
    let soft = match soft {
        Some("unlimited") => usize::MAX,
        Some(n) => n.parse().unwrap_or(0),
        None => 0,
    };
    soft.saturating_sub(RESERVED_FDS) / 2 / FILES_PER_CONTAINER
}

/// Hands out keep-open slots until the budget is spent; a slot comes back when its container
/// leaves.
#[derive(Debug)]
pub struct Budget {
    /// How many containers may keep their files open (see [`open_file_budget`]).
    limit: usize,
    /// How many do.
    kept: usize,
}

impl Budget {
    /// A budget of `limit` containers.
    pub fn new(limit: usize) -> Self {
        Self { limit, kept: 0 }
    }

    /// The budget for this process, from `/proc/self/limits` (none when unreadable).
    pub fn for_this_process() -> Self {
        Self::new(std::fs::read_to_string("/proc/self/limits").map_or(0, |l| open_file_budget(&l)))
    }

    /// Whether a new container may keep its files open; takes a slot if so.
    pub fn take(&mut self) -> bool {
        let granted = self.kept < self.limit;
        if granted {
            self.kept += 1;
        }
        granted
    }

    /// Returns a slot taken by [`Budget::take`].
    pub fn give_back(&mut self) {
        self.kept -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_file_budget_table() {
        let limits = |soft: &str| {
            format!(
                "Limit                     Soft Limit           Hard Limit           Units\n\
                 Max processes             95000                95000                processes\n\
                 Max open files            {soft}                524288               files\n"
            )
        };
        // Half of what 256 reserved descriptors leave, one share per container's files (twelve
        // today, v1 with three blkio files: 1024 → 32 containers).
        let per = 2 * FILES_PER_CONTAINER;
        let cases = [
            ("1024", 768 / per),
            ("20000", 19_744 / per),
            ("256", 0),
            ("unlimited", (usize::MAX - 256) / per),
        ];
        for (soft, want) in cases {
            assert_eq!(open_file_budget(&limits(soft)), want, "{soft}");
        }
        assert_eq!(open_file_budget("garbage"), 0);
    }

    #[test]
    fn the_share_covers_every_file_a_container_may_hold() {
        assert_eq!(FILES_PER_CONTAINER, 12);
        assert!(FILES_PER_CONTAINER >= v2::FILES.len());
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let mut budget = Budget::new(2);
        assert_eq!(
            (budget.take(), budget.take(), budget.take()),
            (true, true, false)
        );
        budget.give_back();
        assert!(budget.take());
        assert!(!Budget::new(0).take());
    }
}
