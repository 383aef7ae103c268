//! Container name patterns: `*` matches any run of characters (none included), `?` exactly
//! one, everything else itself. `web-*` covers `web-1` and `web-blue`; `*` covers every name.
//! Matching is on characters, not bytes, and never backtracks more than once per `*`.

/// Whether `name` matches `pattern`.
#[must_use]
pub fn matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and the name position it has swallowed up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                // Let the last `*` take one more character and try again after it.
                Some((star_p, star_n)) => {
                    star = Some((star_p, star_n + 1));
                    p = star_p + 1;
                    n = star_n + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_match_as_a_shell_glob_would() {
        let cases = [
            ("*", "anything", true),
            ("*", "", true),
            ("web", "web", true),
            ("web", "web-1", false),
            ("web-*", "web-1", true),
            ("web-*", "web-", true),
            ("web-*", "api-1", false),
            ("*-db", "orders-db", true),
            ("*-db", "orders-db-2", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a*b", "abab", true),
            ("?", "x", true),
            ("?", "", false),
            ("?", "xy", false),
            ("web-?", "web-1", true),
            ("web-?", "web-10", false),
            ("**", "x", true),
            ("", "", true),
            ("", "x", false),
            ("é*", "étoile", true),
            ("?toile", "étoile", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(
                matches(pattern, name),
                expected,
                "{pattern:?} against {name:?}"
            );
        }
    }

    #[test]
    fn a_long_hostile_pattern_does_not_explode() {
        // Exponential backtracking would never finish this.
        let pattern = "*a".repeat(100);
        let name = "a".repeat(99) + "b";
        assert!(!matches(&pattern, &name));
    }
}
