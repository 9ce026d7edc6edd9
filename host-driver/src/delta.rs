//! Delta flashing: which bytes of a bank must be written to turn what the
//! inactive bank holds into the new image. Compared in 8-byte words (one
//! bus write each); runs closer than [`MERGE_GAP`] are merged, since one
//! longer burst costs less than two short ones.

use std::ops::Range;

/// Unchanged bytes between two runs that are still written as one run.
pub const MERGE_GAP: usize = 64;

const WORD: usize = 8;

/// Word-aligned ranges of `new` that differ from `base` (same length).
pub fn changed_ranges(base: &[u8], new: &[u8], gap: usize) -> Vec<Range<usize>> {
    assert_eq!(base.len(), new.len(), "delta needs equal lengths");
    let n = new.len();
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut at = 0;
    while at < n {
        // Skip equal words quickly.
        let end = (at + WORD).min(n);
        if base[at..end] == new[at..end] {
            at = end;
            continue;
        }
        match out.last_mut() {
            Some(last) if at - last.end <= gap => last.end = end,
            _ => out.push(at..end),
        }
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn runs_and_merging() {
        let base = vec![0u8; 1000];
        let mut new = base.clone();
        assert!(changed_ranges(&base, &new, 64).is_empty());
        new[3] = 1;
        new[10] = 1;
        new[30] = 1;
        new[500] = 1;
        // Adjacent words always form one run; an 8-byte gap merges at gap 8.
        assert_eq!(changed_ranges(&base, &new, 64), vec![0..32, 496..504]);
        assert_eq!(changed_ranges(&base, &new, 0), vec![0..16, 24..32, 496..504]);
        assert_eq!(changed_ranges(&base, &new, 8), vec![0..32, 496..504]);
        new[999] = 1;
        assert_eq!(changed_ranges(&base, &new, 0).last(), Some(&(992..1000)));
    }

    proptest! {
        /// Applying the runs to the base gives the new bank, and every
        /// byte that differs is inside a run.
        #[test]
        fn applying_runs_gives_new(
            base in proptest::collection::vec(any::<u8>(), 0..600),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..20),
            gap in 0usize..100,
        ) {
            let mut new = base.clone();
            for (i, v) in flips {
                if !new.is_empty() {
                    let l = new.len();
                    new[i % l] = v;
                }
            }
            let runs = changed_ranges(&base, &new, gap);
            let mut applied = base.clone();
            for r in &runs {
                prop_assert!(r.start % 8 == 0);
                applied[r.clone()].copy_from_slice(&new[r.clone()]);
            }
            prop_assert_eq!(applied, new);
            for w in runs.windows(2) {
                prop_assert!(w[0].end + gap < w[1].start);
            }
        }
    }
}
