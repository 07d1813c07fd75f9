//! The era figures: what a server of the stateless MCP 2026-07-28 revision
//! costs Tether, next to the 2025 handshake, on the same server code.
//!
//! The bench's echo fake (`era-echo.mjs`, Node, no dependencies) serves one
//! echo tool at `/legacy` with the 2025 handshake and at `/modern` on the
//! 2026-07-28 wire only, so only the era differs. Tether runs it three ways:
//!
//! - `2025`: `/legacy`, the path of every 2025-era server (`initialize`,
//!   `notifications/initialized`, `tools/list`);
//! - `2026 first`: `/modern` with a fresh Tether home each run: the server
//!   refuses `initialize`, Tether asks `server/discover` and answers the
//!   client from it, then `tools/list`;
//! - `2026 known`: `/modern` with the era remembered from an earlier run:
//!   straight to `server/discover`.
//!
//! Same figures as the main table (spawn → tools/list, call p50 and p99,
//! peak RSS), and the target: a modern server's start within 10 ms of the
//! 2025-era path's.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::Sample;

/// How much later than the 2025-era path a modern server's start may come.
const START_MARGIN_MS: f64 = 10.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Era {
    Legacy,
    ModernFirst,
    ModernKnown,
}

impl Era {
    pub const ALL: [Self; 3] = [Self::Legacy, Self::ModernFirst, Self::ModernKnown];

    pub fn name(self) -> &'static str {
        match self {
            Self::Legacy => "2025",
            Self::ModernFirst => "2026 first",
            Self::ModernKnown => "2026 known",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Legacy => "/legacy",
            Self::ModernFirst | Self::ModernKnown => "/modern",
        }
    }
}

#[derive(Default)]
pub struct Eras {
    samples: [Vec<Sample>; 3],
}

type Figure = fn(&Sample) -> Option<f64>;

const FIGURES: [(&str, &str, Figure); 4] = [
    ("spawn → tools/list (ms)", "spawn_to_tools_list_ms", |s| {
        Some(s.spawn_to_list_ms)
    }),
    ("call p50 (ms)", "call_p50_ms", |s| Some(s.call_p50_ms)),
    ("call p99 (ms)", "call_p99_ms", |s| Some(s.call_p99_ms)),
    ("peak RSS (MB)", "peak_rss_mb", |s| s.peak_rss_mb),
];

impl Eras {
    pub fn add(&mut self, era: Era, sample: Sample) {
        self.samples[era as usize].push(sample);
    }

    fn median(&self, era: Era, figure: Figure) -> Option<f64> {
        let mut v: Vec<f64> = self.samples[era as usize].iter().filter_map(figure).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            f64::midpoint(v[n / 2 - 1], v[n / 2])
        })
    }

    fn start(&self, era: Era) -> f64 {
        self.median(era, FIGURES[0].2).unwrap_or(f64::NAN)
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "  Eras: tether against the bench's echo fake, 2025 handshake vs stateless 2026-07-28"
        );
        let _ = write!(w, "  {:<26}", "medians over the runs");
        for era in Era::ALL {
            let _ = write!(w, "{:>12}", era.name());
        }
        let _ = writeln!(w);
        for (label, _, figure) in FIGURES {
            let _ = write!(w, "  {label:<26}");
            for era in Era::ALL {
                let cell = self.median(era, figure).map_or_else(
                    || "–".to_owned(),
                    |v| {
                        if label.starts_with("call") {
                            format!("{v:.3}")
                        } else {
                            format!("{v:.1}")
                        }
                    },
                );
                let _ = write!(w, "{cell:>12}");
            }
            let _ = writeln!(w);
        }
        let base = self.start(Era::Legacy);
        for era in [Era::ModernFirst, Era::ModernKnown] {
            let d = self.start(era) - base;
            let verdict = if d <= START_MARGIN_MS { "PASS" } else { "MISS" };
            let _ = writeln!(
                w,
                "    {verdict}  tether start against a modern server ({}) within 10 ms of the 2025-era path {d:+.1} ms",
                era.name()
            );
        }
        let _ = writeln!(w);
        out
    }

    pub fn json(&self) -> Value {
        let mut eras = serde_json::Map::new();
        for era in Era::ALL {
            let mut figures = serde_json::Map::new();
            for (_, key, figure) in FIGURES {
                figures.insert(
                    key.to_owned(),
                    self.median(era, figure).map_or(Value::Null, |v| json!(v)),
                );
            }
            eras.insert(era.name().to_owned(), Value::Object(figures));
        }
        let base = self.start(Era::Legacy);
        let targets: Vec<Value> = [Era::ModernFirst, Era::ModernKnown]
            .iter()
            .map(|e| {
                let d = self.start(*e) - base;
                json!({
                    "name": format!("start ({}) within 10 ms of the 2025-era path", e.name()),
                    "value": d,
                    "limit": START_MARGIN_MS,
                    "pass": d <= START_MARGIN_MS,
                })
            })
            .collect();
        json!({
            "server": "era-echo.mjs (a fake: one echo tool, both eras, same code)",
            "medians": eras,
            "targets": targets,
        })
    }
}

/// Tether set beside a baseline build, against server-everything, from the
/// same interleaved rounds.
pub fn beside(tether: &[Sample], baseline: &[Sample]) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "  Tether beside the baseline build (server-everything, same rounds)");
    let _ = writeln!(
        w,
        "  {:<26}{:>12}{:>12}{:>12}",
        "medians over the runs", "tether", "baseline", "difference"
    );
    for (label, _, figure) in FIGURES {
        let m = |v: &[Sample]| {
            let mut x: Vec<f64> = v.iter().filter_map(figure).collect();
            x.sort_by(f64::total_cmp);
            let n = x.len();
            match n {
                0 => f64::NAN,
                _ if n % 2 == 1 => x[n / 2],
                _ => f64::midpoint(x[n / 2 - 1], x[n / 2]),
            }
        };
        let (t, b) = (m(tether), m(baseline));
        let d = if label.starts_with("call") { 3 } else { 1 };
        let _ = writeln!(w, "  {label:<26}{t:>12.d$}{b:>12.d$}{:>+12.d$}", t - b);
    }
    let _ = writeln!(w);
    out
}
