//! A scoped parallel map for CPU-bound batch work (decoding events, building index
//! documents) so that indexing uses every core, not just the one the indexer runs on.

/// Maps `f` over `items` on up to four threads, preserving order. Small inputs stay on
/// the calling thread.
pub(crate) fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if threads < 2 || items.len() < 512 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn order_is_kept_for_small_and_large_inputs() {
        for n in [0usize, 3, 511, 512, 10_001] {
            let v: Vec<usize> = (0..n).collect();
            assert_eq!(
                super::par_map(&v, |x| x * 2),
                v.iter().map(|x| x * 2).collect::<Vec<_>>()
            );
        }
    }
}
