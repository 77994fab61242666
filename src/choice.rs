//! Which way `--engine auto` starts the next instance: cold, or by restoring
//! a snapshot. A [`Chooser`] is the decision alone, a pure state machine over
//! recorded figures; [`crate::adaptive`] wires it to real starts.
//!
//! The figure is the time to first response: time to ready plus the first
//! invocation's duration. A lazy restore can be ready early and pay for its
//! pages during that first invocation, so time to ready alone would flatter
//! it.
//!
//! ```text
//!  starts 0, 1, 2, 3  restore, cold, restore, cold: the trial, one start
//!                     at a time (adaptive.rs), each figure recorded
//!  later, undecided   the faster so far (time to ready stands in)
//!        │ every trial start has its first response (or failed)
//!        ▼
//!  decided: serve from the way with the lower median; every
//!  RECHECK_EVERY-th start goes the other way, and the choice flips when
//!  the medians of the latest WINDOW figures reverse
//! ```

use std::collections::VecDeque;
use std::time::Duration;

/// Cold starts in the trial. Two, so that one start slowed by whatever else
/// the machine does (or a first restore whose snapshot is not yet in the
/// page cache) does not decide alone.
pub const TRIAL_COLD: u64 = 2;

/// Restores in the trial, alternating with its cold starts so both ways see
/// the same machine. Restore goes first: where it loses, it loses by the
/// restore's fixed cost (tens of milliseconds with CRIU), while a cold start
/// that loses costs the whole init (half a second for rust-heavy-init). It
/// also keeps a single-slot `snaprun run`, which starts again only to
/// replace an instance, serving from the snapshot as it always has.
pub const TRIAL_RESTORES: u64 = 2;

/// Once decided, every `RECHECK_EVERY`-th start goes the way not served, so
/// a choice made on a quiet machine can be revised.
pub const RECHECK_EVERY: u64 = 16;

/// Figures kept per way: decisions compare the medians of the latest
/// `WINDOW`.
pub const WINDOW: usize = 5;

/// How an instance starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// From scratch: the bootstrap runs its init.
    Cold,
    /// Restored from the snapshot.
    Restore,
}

impl Way {
    fn other(self) -> Self {
        match self {
            Self::Cold => Self::Restore,
            Self::Restore => Self::Cold,
        }
    }
}

/// A choice made or changed, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The way starts go from now on.
    pub serving: Way,
    /// Its median time to first response, if it has figures.
    pub serving_median: Option<Duration>,
    /// The other way's median, or `None` when it failed.
    pub other_median: Option<Duration>,
    /// Whether this reverses an earlier decision.
    pub flipped: bool,
}

/// The recent figures of one way.
#[derive(Debug, Default)]
struct Figures {
    /// Times to first response, latest last, at most [`WINDOW`].
    first_response: VecDeque<Duration>,
    /// Times to ready, latest last, at most [`WINDOW`]: a stand-in for a
    /// start whose first invocation has not come yet.
    ready: VecDeque<Duration>,
    /// First responses recorded, ever.
    responses: u64,
    /// Whether its latest start failed.
    broken: bool,
}

impl Figures {
    fn push(window: &mut VecDeque<Duration>, took: Duration) {
        if window.len() == WINDOW {
            window.pop_front();
        }
        window.push_back(took);
    }

    fn median_response(&self) -> Option<Duration> {
        median(&self.first_response)
    }

    /// Its best guess: the first-response median, else the time to ready.
    fn estimate(&self) -> Option<Duration> {
        self.median_response().or_else(|| median(&self.ready))
    }
}

/// The median of `figures`: the middle one, or the mean of the middle two.
fn median(figures: &VecDeque<Duration>) -> Option<Duration> {
    let mut sorted: Vec<Duration> = figures.iter().copied().collect();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => sorted.get(mid).copied(),
        _ => {
            let (low, high) = (sorted.get(mid - 1)?, sorted.get(mid)?);
            Some((*low + *high) / 2)
        }
    }
}

/// Decides, start by start, whether to start cold or restore.
#[derive(Debug, Default)]
pub struct Chooser {
    cold: Figures,
    restore: Figures,
    /// Trial starts handed out so far: (cold, restore).
    trial: (u64, u64),
    /// The way decided on, once the trial is over.
    serving: Option<Way>,
    /// Starts handed out since the decision.
    since_decision: u64,
}

impl Chooser {
    /// A chooser before its trial.
    pub fn new() -> Self {
        Self::default()
    }

    /// The way decided on, or `None` during the trial.
    pub fn serving(&self) -> Option<Way> {
        self.serving
    }

    /// The way the next start goes, counted as handed out.
    pub fn next_start(&mut self) -> Way {
        let (cold, restore) = self.trial;
        match self.serving {
            Some(serving) => {
                self.since_decision += 1;
                if self.since_decision.is_multiple_of(RECHECK_EVERY) {
                    serving.other()
                } else {
                    serving
                }
            }
            // The trial: alternate, restore first, each way up to its count.
            None if restore < TRIAL_RESTORES && (restore <= cold || cold == TRIAL_COLD) => {
                self.trial.1 += 1;
                Way::Restore
            }
            None if cold < TRIAL_COLD => {
                self.trial.0 += 1;
                Way::Cold
            }
            None => self.leader(),
        }
    }

    /// A start of `way` became ready after `took`.
    pub fn ready(&mut self, way: Way, took: Duration) {
        let figures = self.figures(way);
        figures.broken = false;
        Figures::push(&mut figures.ready, took);
    }

    /// A start of `way` answered its first invocation `took` after it began
    /// (time to ready plus that invocation). Returns the decision when this
    /// makes or changes one.
    pub fn first_response(&mut self, way: Way, took: Duration) -> Option<Decision> {
        let figures = self.figures(way);
        figures.broken = false;
        figures.responses += 1;
        Figures::push(&mut figures.first_response, took);
        self.decide()
    }

    /// A start of `way` failed. Returns the decision when this makes or
    /// changes one.
    pub fn failed(&mut self, way: Way) -> Option<Decision> {
        self.figures(way).broken = true;
        self.decide()
    }

    fn figures(&mut self, way: Way) -> &mut Figures {
        match way {
            Way::Cold => &mut self.cold,
            Way::Restore => &mut self.restore,
        }
    }

    fn figures_of(&self, way: Way) -> &Figures {
        match way {
            Way::Cold => &self.cold,
            Way::Restore => &self.restore,
        }
    }

    /// The faster way on the figures so far; cold when they cannot tell.
    fn leader(&self) -> Way {
        match (self.cold.broken, self.restore.broken) {
            (false, true) => return Way::Cold,
            (true, false) => return Way::Restore,
            _ => {}
        }
        let (cold, restore) = match (self.cold.median_response(), self.restore.median_response()) {
            (Some(cold), Some(restore)) => (cold, restore),
            _ => match (self.cold.estimate(), self.restore.estimate()) {
                (Some(cold), Some(restore)) => (cold, restore),
                _ => return Way::Cold,
            },
        };
        if restore < cold {
            Way::Restore
        } else {
            Way::Cold
        }
    }

    /// Whether each way has its trial's figures or has failed.
    fn trial_done(&self) -> bool {
        let done = |figures: &Figures, wanted: u64| figures.broken || figures.responses >= wanted;
        done(&self.cold, TRIAL_COLD) && done(&self.restore, TRIAL_RESTORES)
    }

    /// Makes or revises the decision on the figures recorded.
    fn decide(&mut self) -> Option<Decision> {
        if self.serving.is_none() && !self.trial_done() {
            return None;
        }
        if self.cold.broken && self.restore.broken {
            return None;
        }
        let best = match (self.cold.broken, self.restore.broken) {
            (false, true) => Way::Cold,
            (true, false) => Way::Restore,
            _ => match (self.cold.median_response(), self.restore.median_response()) {
                (Some(cold), Some(restore)) if restore < cold => Way::Restore,
                (Some(_), Some(_)) => Way::Cold,
                // One way has no first response yet: keep what is served.
                _ => return None,
            },
        };
        let flipped = match self.serving {
            Some(serving) if serving == best => return None,
            Some(_) => true,
            None => false,
        };
        self.serving = Some(best);
        self.since_decision = 0;
        let other = self.figures_of(best.other());
        Some(Decision {
            serving: best,
            serving_median: self.figures_of(best).median_response(),
            other_median: if other.broken {
                None
            } else {
                other.median_response()
            },
            flipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The trial's ways, in order.
    fn trial_plan() -> Vec<Way> {
        let mut chooser = Chooser::new();
        (0..TRIAL_COLD + TRIAL_RESTORES)
            .map(|_| chooser.next_start())
            .collect()
    }

    /// Runs the trial with these times to first response, in start order;
    /// returns the decision it made.
    fn trial(chooser: &mut Chooser, cold: &[u64], restores: &[u64]) -> Option<Decision> {
        let plan: Vec<Way> = trial_plan()
            .into_iter()
            .map(|_| chooser.next_start())
            .collect();
        assert_eq!(plan, trial_plan());
        let (mut cold, mut restores) = (cold.iter(), restores.iter());
        let mut decision = None;
        for (i, way) in plan.iter().enumerate() {
            assert_eq!(decision, None, "decided before the trial ended");
            let took = match way {
                Way::Cold => cold.next(),
                Way::Restore => restores.next(),
            };
            decision = chooser.first_response(*way, ms(*took.unwrap_or(&0)));
            if i + 1 < plan.len() {
                assert_eq!(chooser.serving(), None);
            }
        }
        decision
    }

    #[test]
    fn the_trial_alternates_restore_first() {
        assert_eq!(TRIAL_COLD, 2);
        assert_eq!(TRIAL_RESTORES, 2);
        assert_eq!(
            trial_plan(),
            vec![Way::Restore, Way::Cold, Way::Restore, Way::Cold]
        );
    }

    #[test]
    fn the_trial_chooses_the_faster_median() {
        let mut data_heavy = Chooser::new();
        let decision = trial(&mut data_heavy, &[50, 60], &[70, 72]);
        assert_eq!(
            decision,
            Some(Decision {
                serving: Way::Cold,
                serving_median: Some(ms(55)),
                other_median: Some(ms(71)),
                flipped: false,
            })
        );
        assert_eq!(data_heavy.serving(), Some(Way::Cold));
        assert_eq!(data_heavy.next_start(), Way::Cold);

        let mut heavy_init = Chooser::new();
        let decision = trial(&mut heavy_init, &[500, 520], &[90, 5]);
        assert_eq!(
            decision,
            Some(Decision {
                serving: Way::Restore,
                serving_median: Some(Duration::from_micros(47_500)),
                other_median: Some(ms(510)),
                flipped: false,
            })
        );
        assert_eq!(heavy_init.next_start(), Way::Restore);
    }

    #[test]
    fn no_decision_until_every_trial_start_has_answered() {
        let mut chooser = Chooser::new();
        for way in trial_plan() {
            assert_eq!(chooser.next_start(), way);
        }
        assert_eq!(chooser.first_response(Way::Restore, ms(5)), None);
        assert_eq!(chooser.first_response(Way::Restore, ms(6)), None);
        assert_eq!(chooser.first_response(Way::Cold, ms(400)), None);
        assert_eq!(chooser.serving(), None, "one cold start still to answer");
        // Undecided starts after the trial follow the figures so far.
        assert_eq!(chooser.next_start(), Way::Restore);
        let decision = chooser.first_response(Way::Cold, ms(450));
        assert_eq!(decision.map(|d| d.serving), Some(Way::Restore));
    }

    #[test]
    fn undecided_extra_starts_follow_the_times_to_ready_or_go_cold() {
        let mut chooser = Chooser::new();
        for _ in trial_plan() {
            chooser.next_start();
        }
        assert_eq!(chooser.next_start(), Way::Cold, "nothing known yet");
        chooser.ready(Way::Cold, ms(40));
        chooser.ready(Way::Restore, ms(60));
        assert_eq!(chooser.next_start(), Way::Cold);
        chooser.ready(Way::Restore, ms(3));
        chooser.ready(Way::Restore, ms(3));
        assert_eq!(chooser.next_start(), Way::Restore, "median 3 ms against 40");
    }

    #[test]
    fn every_nth_start_rechecks_the_other_way_and_the_choice_flips_when_figures_reverse() {
        let mut chooser = Chooser::new();
        trial(&mut chooser, &[50, 52], &[70, 72]);
        let ways: Vec<Way> = (0..RECHECK_EVERY * 2)
            .map(|_| chooser.next_start())
            .collect();
        let rechecks: Vec<usize> = (0..ways.len())
            .filter(|&i| ways.get(i) == Some(&Way::Restore))
            .collect();
        let every = usize::try_from(RECHECK_EVERY).unwrap_or(usize::MAX);
        assert_eq!(rechecks, vec![every - 1, 2 * every - 1]);

        // A re-check that confirms the choice changes nothing.
        assert_eq!(chooser.first_response(Way::Restore, ms(80)), None);
        // Restores get faster (say the machine got quieter): once the
        // median of the latest WINDOW drops below cold's, the choice flips,
        // once.
        assert_eq!(chooser.first_response(Way::Restore, ms(10)), None);
        assert_eq!(chooser.first_response(Way::Restore, ms(10)), None);
        let flip = chooser.first_response(Way::Restore, ms(10));
        assert_eq!(
            flip,
            Some(Decision {
                serving: Way::Restore,
                serving_median: Some(ms(10)),
                other_median: Some(ms(51)),
                flipped: true,
            })
        );
        assert_eq!(chooser.first_response(Way::Restore, ms(9)), None);
        assert_eq!(chooser.serving(), Some(Way::Restore));
        // Now the re-checks go cold.
        let ways: Vec<Way> = (0..RECHECK_EVERY).map(|_| chooser.next_start()).collect();
        assert_eq!(ways.iter().filter(|&&w| w == Way::Cold).count(), 1);
        assert_eq!(ways.last(), Some(&Way::Cold));
        // And cold, faster again on its latest figures, wins back.
        for _ in 0..2 {
            assert_eq!(chooser.first_response(Way::Cold, ms(8)), None);
        }
        let back = chooser.first_response(Way::Cold, ms(8));
        assert_eq!(
            back.map(|d| (d.serving, d.flipped)),
            Some((Way::Cold, true))
        );
    }

    #[test]
    fn a_failing_way_loses_until_it_works_again() {
        let mut chooser = Chooser::new();
        assert_eq!(chooser.next_start(), Way::Restore);
        assert_eq!(chooser.next_start(), Way::Cold);
        assert_eq!(chooser.first_response(Way::Cold, ms(500)), None);
        assert_eq!(chooser.serving(), None, "one cold start is not the trial");
        assert_eq!(chooser.next_start(), Way::Restore);
        assert_eq!(chooser.next_start(), Way::Cold);
        assert_eq!(chooser.first_response(Way::Cold, ms(500)), None);
        let decision = chooser.failed(Way::Restore);
        assert_eq!(
            decision,
            Some(Decision {
                serving: Way::Cold,
                serving_median: Some(ms(500)),
                other_median: None,
                flipped: false,
            })
        );
        // A re-check restore that works flips to the faster way.
        for _ in 1..RECHECK_EVERY {
            assert_eq!(chooser.next_start(), Way::Cold);
        }
        assert_eq!(chooser.next_start(), Way::Restore);
        let flip = chooser.first_response(Way::Restore, ms(5));
        assert_eq!(
            flip.map(|d| (d.serving, d.flipped)),
            Some((Way::Restore, true))
        );
        // It fails again: back to cold. Both failing changes nothing.
        assert_eq!(
            chooser.failed(Way::Restore),
            Some(Decision {
                serving: Way::Cold,
                serving_median: Some(ms(500)),
                other_median: None,
                flipped: true,
            })
        );
        assert_eq!(chooser.failed(Way::Cold), None);
        assert_eq!(chooser.serving(), Some(Way::Cold));
    }

    #[test]
    fn medians() {
        let window = |v: &[u64]| v.iter().map(|&n| ms(n)).collect::<VecDeque<_>>();
        assert_eq!(median(&window(&[])), None);
        assert_eq!(median(&window(&[7])), Some(ms(7)));
        assert_eq!(median(&window(&[9, 1, 5])), Some(ms(5)));
        assert_eq!(median(&window(&[1, 9, 3, 5])), Some(ms(4)));
    }
}
