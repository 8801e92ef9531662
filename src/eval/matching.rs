//! Maximum matching of event times within a tolerance window, ported from mir_eval 0.8.2's
//! `util.match_events` (with its `_fast_hit_windows` and `_bipartite_match`).
//!
//! Any maximum matching has the same size, which is all an F-measure needs, but the port
//! follows mir_eval's Hopcroft–Karp step by step, visiting vertices in the order Python's
//! insertion-ordered dicts do, so that it also returns the same pairs.

/// Matches reference events to estimated events, each at most once, so that as many pairs
/// as possible lie within `window` seconds of each other.
///
/// A pair `(i, j)` means `reference[i]` is matched to `estimated[j]`; pairs come sorted by
/// `i`. An estimate `e` may match a reference `r` when `e - window <= r <= e + window` (the
/// bounds are computed first, as mir_eval's `searchsorted` does, which can differ from
/// `|r - e| <= window` in the last bit). Neither list needs to be sorted; times must not be
/// NaN.
///
/// ```
/// use memsynth::eval::match_events;
///
/// // 0.98 can only match 1.0, so the augmenting step moves 1.05 over to 1.1.
/// let pairs = match_events(&[1.0, 1.1], &[1.05, 0.98], 0.06);
/// assert_eq!(pairs, vec![(0, 1), (1, 0)]);
/// ```
pub fn match_events(reference: &[f64], estimated: &[f64], window: f64) -> Vec<(usize, usize)> {
    let graph = hit_windows(reference, estimated, window);
    bipartite_match(&graph, reference.len())
        .into_iter()
        .enumerate()
        .filter_map(|(r, e)| e.map(|e| (r, e)))
        .collect()
}

/// For each estimate, the indices of the references within the window, in increasing
/// reference time (mir_eval's `_fast_hit_windows`).
fn hit_windows(reference: &[f64], estimated: &[f64], window: f64) -> Vec<Vec<usize>> {
    // A stable sort, where numpy's `argsort` is not: the order of equal references only
    // changes which of them gets matched, never how many.
    let mut order: Vec<usize> = (0..reference.len()).collect();
    order.sort_by(|&a, &b| reference[a].total_cmp(&reference[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| reference[i]).collect();
    estimated
        .iter()
        .map(|&e| {
            let (low, high) = (e - window, e + window);
            let start = sorted.partition_point(|&r| r < low);
            let end = sorted.partition_point(|&r| r <= high);
            if end > start { order[start..end].to_vec() } else { Vec::new() }
        })
        .collect()
}

/// How a left vertex entered the current layering: mir_eval stores either the flag value
/// `unmatched` (a free vertex of the first layer) or the right vertex it is matched to.
#[derive(Clone, Copy)]
enum Pred {
    Free,
    MatchedTo(usize),
}

/// Hopcroft–Karp maximum matching (David Eppstein's version, as adapted by mir_eval).
///
/// `graph[u]` lists the right vertices (references) of left vertex `u` (an estimate). Returns,
/// for each right vertex, the left vertex matched to it.
fn bipartite_match(graph: &[Vec<usize>], n_right: usize) -> Vec<Option<usize>> {
    // mir_eval's graph dict only holds estimates with at least one hit, in increasing order.
    let left: Vec<usize> = (0..graph.len()).filter(|&u| !graph[u].is_empty()).collect();
    let mut matching: Vec<Option<usize>> = vec![None; n_right];

    // A greedy start: redundant, but it leaves few vertices for the layered search.
    for &u in &left {
        if let Some(&v) = graph[u].iter().find(|&&v| matching[v].is_none()) {
            matching[v] = Some(u);
        }
    }

    // Where each right vertex sits in the layer being built (the insertion order of
    // mir_eval's `new_layer` dict); reset after each layer.
    let mut position: Vec<Option<usize>> = vec![None; n_right];
    loop {
        // preds[v]: the left vertices of the previous layer that reach v.
        let mut preds: Vec<Option<Vec<usize>>> = vec![None; n_right];
        let mut pred: Vec<Option<Pred>> = vec![None; graph.len()];
        for &u in &left {
            pred[u] = Some(Pred::Free);
        }
        for &u in matching.iter().flatten() {
            pred[u] = None;
        }
        let mut layer: Vec<usize> = left.iter().copied().filter(|&u| pred[u].is_some()).collect();
        let mut unmatched: Vec<usize> = Vec::new();

        while !layer.is_empty() && unmatched.is_empty() {
            let mut new_layer: Vec<(usize, Vec<usize>)> = Vec::new();
            for &u in &layer {
                for &v in &graph[u] {
                    if preds[v].is_some() {
                        continue;
                    }
                    match position[v] {
                        Some(i) => new_layer[i].1.push(u),
                        None => {
                            position[v] = Some(new_layer.len());
                            new_layer.push((v, vec![u]));
                        }
                    }
                }
            }
            layer.clear();
            for (v, reached_from) in new_layer {
                position[v] = None;
                preds[v] = Some(reached_from);
                match matching[v] {
                    Some(u) => {
                        layer.push(u);
                        pred[u] = Some(Pred::MatchedTo(v));
                    }
                    None => unmatched.push(v),
                }
            }
        }

        // No free right vertex reached: no augmenting path is left.
        if unmatched.is_empty() {
            return matching;
        }
        for v in unmatched {
            augment(v, &mut preds, &mut pred, &mut matching);
        }
    }
}

/// Searches back through the layers from right vertex `v` for an alternating path that ends
/// at a free left vertex, and flips the path's edges if found (mir_eval's `recurse`). Each
/// vertex is visited at most once per phase, which keeps the paths vertex-disjoint.
fn augment(
    v: usize,
    preds: &mut [Option<Vec<usize>>],
    pred: &mut [Option<Pred>],
    matching: &mut [Option<usize>],
) -> bool {
    let Some(reached_from) = preds[v].take() else {
        return false;
    };
    for u in reached_from {
        if let Some(previous) = pred[u].take() {
            let found = match previous {
                Pred::Free => true,
                Pred::MatchedTo(w) => augment(w, preds, pred, matching),
            };
            if found {
                matching[v] = Some(u);
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augmenting_path_beats_greedy() {
        // Greedy pairs 1.05 with 1.0 and leaves 0.98 alone; the maximum matching has two.
        assert_eq!(match_events(&[1.0, 1.1], &[1.05, 0.98], 0.06), vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn each_event_matched_once() {
        // Three estimates crowd one reference: one pair only.
        assert_eq!(match_events(&[1.0], &[0.99, 1.0, 1.01], 0.05), vec![(0, 0)]);
        assert_eq!(match_events(&[0.99, 1.0, 1.01], &[1.0], 0.05), vec![(0, 0)]);
    }

    #[test]
    fn empty_and_out_of_window() {
        assert!(match_events(&[], &[1.0], 0.07).is_empty());
        assert!(match_events(&[1.0], &[], 0.07).is_empty());
        assert!(match_events(&[1.0], &[1.1], 0.07).is_empty());
        assert!(match_events(&[1.0], &[1.0], -0.1).is_empty());
    }

    #[test]
    fn unsorted_reference() {
        assert_eq!(
            match_events(&[3.0, 1.0, 2.0], &[1.0, 2.0, 3.0], 0.01),
            vec![(0, 2), (1, 0), (2, 1)]
        );
    }
}
