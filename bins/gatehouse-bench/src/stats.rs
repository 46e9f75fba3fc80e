//! Small statistics helpers.

use std::time::Duration;

/// The median of `samples` (the mean of the two middle values for an even count), or
/// `None` when there are none.
pub fn median(samples: &[Duration]) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => sorted.get(n / 2).copied(),
        _ => {
            let a = sorted.get(n / 2 - 1)?;
            let b = sorted.get(n / 2)?;
            Some((*a + *b) / 2)
        }
    }
}

/// The number of CPUs this process may run on (1 if the system cannot tell).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn median_of_nothing_is_none() {
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value() {
        assert_eq!(median(&[ms(9), ms(1), ms(5)]), Some(ms(5)));
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_pair() {
        assert_eq!(median(&[ms(10), ms(2), ms(4), ms(100)]), Some(ms(7)));
    }

    #[test]
    fn cores_is_positive() {
        assert!(cores() >= 1);
    }
}
