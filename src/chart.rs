//! `snaprun bench --chart FILE.svg`: per function, its cold start, its
//! restores under each snapshot engine (from a spare and on demand, side by
//! side) and a warm invocation, as bars of
//! their medians with min–max whiskers on a log axis (a cold start and a
//! warm call are three orders of magnitude apart), drawn with `plotters`.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::bench::{BenchResults, Prepared, Spread};

/// One function's results, one per engine, from one comparison.
#[derive(Debug, Clone, Copy)]
pub struct Function<'a> {
    /// Its label on the x axis.
    pub name: &'a str,
    /// What each engine measured (the cold starts are the same in all).
    pub results: &'a [BenchResults],
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// Only SVG is drawn.
    #[error("{}: charts are drawn as SVG; name a file ending in .svg", .0.display())]
    Format(PathBuf),
    /// Nothing to draw.
    #[error("no results to chart")]
    Empty,
    /// Drawing or writing the file failed.
    #[error("cannot draw {}", path.display())]
    Draw {
        /// The file.
        path: PathBuf,
        /// What plotters said.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

const COLD: RGBColor = RGBColor(0x9e, 0x9e, 0x9e);
const WARM: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
/// Restores, by engine in order of appearance: from a spare in the full
/// colour, on demand in a lighter shade of it.
const RESTORES: [(RGBColor, RGBColor); 3] = [
    (RGBColor(0x1f, 0x77, 0xb4), RGBColor(0x9e, 0xc9, 0xe8)),
    (RGBColor(0xff, 0x7f, 0x0e), RGBColor(0xff, 0xc6, 0x94)),
    (RGBColor(0x94, 0x67, 0xbd), RGBColor(0xcf, 0xb9, 0xe3)),
];

/// A kind of bar: its legend and colour, and where each function's figure
/// for it comes from.
struct Kind {
    legend: String,
    colour: RGBColor,
    pick: Pick,
}

enum Pick {
    Cold,
    Restore(&'static str, Prepared),
    Warm,
}

impl Pick {
    /// `results`' figure for this kind, if it has one: the warm figure is
    /// the engine `none`'s where it ran (a plain process), else the first
    /// engine's.
    fn of(&self, results: &[BenchResults]) -> Option<Spread> {
        match self {
            Self::Cold => results.first().map(|r| r.cold),
            Self::Restore(engine, way) => {
                results.iter().find(|r| r.engine == *engine)?.restore(*way)
            }
            Self::Warm => results
                .iter()
                .find(|r| r.engine == "none")
                .or(results.first())
                .map(|r| r.warm),
        }
    }
}

/// Cold, a restore from a spare and one on demand per snapshot engine
/// present, warm.
fn kinds(functions: &[Function<'_>]) -> Vec<Kind> {
    let mut engines: Vec<&'static str> = Vec::new();
    for result in functions.iter().flat_map(|f| f.results) {
        let restored = Prepared::BOTH.iter().any(|w| result.restore(*w).is_some());
        if restored && !engines.contains(&result.engine) {
            engines.push(result.engine);
        }
    }
    let mut kinds = vec![Kind {
        legend: "cold start".into(),
        colour: COLD,
        pick: Pick::Cold,
    }];
    kinds.extend(engines.into_iter().enumerate().flat_map(|(i, engine)| {
        let (spare, on_demand) = RESTORES[i % RESTORES.len()];
        [(Prepared::Spare, spare), (Prepared::OnDemand, on_demand)].map(|(way, colour)| Kind {
            legend: legend(way, engine),
            colour,
            pick: Pick::Restore(engine, way),
        })
    }));
    kinds.push(Kind {
        legend: "warm invocation".into(),
        colour: WARM,
        pick: Pick::Warm,
    });
    kinds
}

/// A restore's legend: which way, which engine.
fn legend(way: Prepared, engine: &str) -> String {
    format!("{}, {engine}", way.label())
}

/// Draws `functions` into `path` (an `.svg` file), titled `title`: per
/// function, a bar for its cold start, two for its restores under each
/// snapshot engine (from a spare, on demand), and one for a warm
/// invocation.
pub fn draw(path: &Path, title: &str, functions: &[Function<'_>]) -> Result<(), ChartError> {
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        return Err(ChartError::Format(path.to_owned()));
    }
    if functions.iter().all(|f| f.results.is_empty()) {
        return Err(ChartError::Empty);
    }
    plot(path, title, functions).map_err(|cause| ChartError::Draw {
        path: path.to_owned(),
        cause,
    })
}

fn plot(
    path: &Path,
    title: &str,
    functions: &[Function<'_>],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let kinds = kinds(functions);
    let width = 240 + (40 * kinds.len() as u32 + 50) * functions.len() as u32;
    let root = SVGBackend::new(path, (width.max(640), 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let values = functions
        .iter()
        .flat_map(|f| kinds.iter().filter_map(|k| k.pick.of(f.results)))
        .flat_map(|s| [s.min, s.max]);
    let (low, high) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Room below the fastest whisker, and above the slowest label for the
    // legend, top right.
    let (low, high) = (low.max(1e-3) / 2.0, high * 15.0);
    let n = functions.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..n - 0.5, (low..high).log_scale())?;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 || i >= n {
            return String::new();
        }
        functions[i as usize].name.to_owned()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(functions.len() + 1)
        .x_label_formatter(&label)
        .y_desc("ms to first response (log scale)")
        .draw()?;
    let bar = 0.8 / kinds.len() as f64;
    for (k, kind) in kinds.iter().enumerate() {
        let offset = (k as f64 - (kinds.len() - 1) as f64 / 2.0) * bar;
        let bars: Vec<(f64, Spread)> = functions
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((i as f64 + offset, kind.pick.of(f.results)?)))
            .collect();
        let colour = kind.colour;
        chart
            .draw_series(bars.iter().map(|(x, s)| {
                Rectangle::new(
                    [(x - bar * 0.45, low), (x + bar * 0.45, s.median)],
                    colour.filled(),
                )
            }))?
            .label(kind.legend.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
        // Whiskers from the fastest to the slowest run, with caps.
        chart.draw_series(bars.iter().flat_map(|(x, s)| {
            let cap = bar * 0.2;
            [
                PathElement::new(vec![(*x, s.min), (*x, s.max)], BLACK),
                PathElement::new(vec![(x - cap, s.min), (x + cap, s.min)], BLACK),
                PathElement::new(vec![(x - cap, s.max), (x + cap, s.max)], BLACK),
            ]
        }))?;
        chart.draw_series(bars.iter().map(|(x, s)| {
            Text::new(
                median_label(s.median),
                (x - bar * 0.45, s.max * 1.5),
                ("sans-serif", 11).into_font(),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    root.present()?;
    Ok(())
}

/// A median as its bar's label: three significant figures or so.
fn median_label(ms: f64) -> String {
    match ms {
        ms if ms >= 100.0 => format!("{ms:.0}"),
        ms if ms >= 10.0 => format!("{ms:.1}"),
        ms => format!("{ms:.2}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn labels_keep_about_three_figures() {
        assert_eq!(median_label(512.3), "512");
        assert_eq!(median_label(84.26), "84.3");
        assert_eq!(median_label(1.664), "1.66");
        assert_eq!(median_label(0.187), "0.19");
    }

    #[test]
    fn both_restores_of_every_engine_get_a_bar_and_a_legend() {
        let results = [crate::bench::tests::none(), crate::bench::tests::native()];
        let functions = [Function {
            name: "rust-heavy-init",
            results: &results,
        }];
        let legends: Vec<String> = kinds(&functions).into_iter().map(|k| k.legend).collect();
        assert_eq!(
            legends,
            [
                "cold start",
                "restore (spare), native",
                "restore (on demand), native",
                "warm invocation"
            ]
        );
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("chart.svg");
        draw(&path, "rust-heavy-init", &functions).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in [
            "\nrestore (spare), native\n",
            "\nrestore (on demand), native\n",
            // The bars' median labels.
            "\n2.00\n",
            "\n8.00\n",
        ] {
            assert!(svg.contains(text), "{text:?} not in {svg}");
        }
        // Spare and on demand in two colours of the engine's.
        let (spare, on_demand) = RESTORES[0];
        for colour in [spare, on_demand] {
            let hex = format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2);
            assert!(svg.contains(&hex), "{hex} not in the chart");
        }
    }
}
