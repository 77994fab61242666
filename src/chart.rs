//! `snaprun bench --chart FILE.svg`: cold start, restore and warm
//! invocation per function and engine, as bars of their medians with
//! min–max whiskers, on a log axis (a cold start and a warm call are three
//! orders of magnitude apart), drawn with `plotters`.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::bench::{BenchResults, Spread};

/// One group of bars: a function under one engine.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// Its label on the x axis: the engine, and the function where several
    /// are drawn.
    pub label: String,
    /// What it measured.
    pub results: &'a BenchResults,
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

/// The three kinds of bar, their colours and where they sit in a group.
const KINDS: [(&str, RGBColor); 3] = [
    ("cold start", RGBColor(0x9e, 0x9e, 0x9e)),
    ("restore", RGBColor(0x1f, 0x77, 0xb4)),
    ("warm invocation", RGBColor(0x2c, 0xa0, 0x2c)),
];

/// Draws `groups` into `path` (an `.svg` file), titled `title`.
pub fn draw(path: &Path, title: &str, groups: &[Group<'_>]) -> Result<(), ChartError> {
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        return Err(ChartError::Format(path.to_owned()));
    }
    if groups.is_empty() {
        return Err(ChartError::Empty);
    }
    plot(path, title, groups).map_err(|cause| ChartError::Draw {
        path: path.to_owned(),
        cause,
    })
}

fn spreads(results: &BenchResults) -> [Option<Spread>; 3] {
    [Some(results.cold), results.restore, Some(results.warm)]
}

fn plot(
    path: &Path,
    title: &str,
    groups: &[Group<'_>],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let width = 220 + 180 * groups.len() as u32;
    let root = SVGBackend::new(path, (width, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let values = groups
        .iter()
        .flat_map(|g| spreads(g.results))
        .flatten()
        .flat_map(|s| [s.min, s.max]);
    let (low, high) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Room below the fastest whisker and above the slowest label.
    // (and the legend, top right).
    let (low, high) = (low.max(1e-3) / 2.0, high * 15.0);
    let n = groups.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..n - 0.5, (low..high).log_scale())?;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 || i >= n {
            return String::new();
        }
        groups[i as usize].label.clone()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len() + 1)
        .x_label_formatter(&label)
        .y_desc("ms to first response (log scale)")
        .draw()?;
    let bar = 0.25;
    for (k, (name, colour)) in KINDS.iter().enumerate() {
        let offset = (k as f64 - 1.0) * bar;
        let bars: Vec<(f64, Spread)> = groups
            .iter()
            .enumerate()
            .filter_map(|(i, g)| spreads(g.results)[k].map(|s| (i as f64 + offset, s)))
            .collect();
        chart
            .draw_series(bars.iter().map(|(x, s)| {
                Rectangle::new(
                    [(x - bar * 0.45, low), (x + bar * 0.45, s.median)],
                    colour.filled(),
                )
            }))?
            .label(*name)
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
                (x - bar * 0.4, s.max * 1.5),
                ("sans-serif", 12).into_font(),
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
    use super::*;

    #[test]
    fn labels_keep_about_three_figures() {
        assert_eq!(median_label(512.3), "512");
        assert_eq!(median_label(84.26), "84.3");
        assert_eq!(median_label(1.664), "1.66");
        assert_eq!(median_label(0.187), "0.19");
    }
}
