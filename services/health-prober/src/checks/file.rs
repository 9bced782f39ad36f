//! FILE_CHECK: follows a `track_file`. With weight 0 the server is down
//! while the file holds a non-zero number; with a weight it is down when
//! `value × weight` (negated with `reverse`) reaches −254 or below, and
//! above that the product is added to the real server's weight (keepalived's
//! `cur_weight`). A missing or unreadable file counts as 0, as keepalived's
//! track_file does.

use crate::outcome::{Failure, Outcome};
use crate::spec::TrackedFile;

/// One attempt: read and judge the file.
pub async fn run(file: &TrackedFile) -> Outcome {
    let value = match tokio::fs::read_to_string(&file.path).await {
        Ok(text) => text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0),
        Err(_) => 0,
    };
    judge(file, value)
}

/// The verdict for `value`.
pub fn judge(file: &TrackedFile, value: i64) -> Outcome {
    if file.weight == 0 {
        return if value == 0 {
            Outcome::ok()
        } else {
            Outcome::failed(Failure::File(format!("{} holds {value}", file.path)))
        };
    }
    let mut effect = value.saturating_mul(i64::from(file.weight));
    if file.reverse {
        effect = -effect;
    }
    if effect <= -254 {
        Outcome::failed(Failure::File(format!(
            "{} holds {value} (weight {effect})",
            file.path
        )))
    } else {
        Outcome {
            // IPVS weights are 0..=65535: nothing beyond that can matter.
            weight_offset: Some(effect.min(65_535) as i32),
            ..Outcome::ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_zero_is_down_on_non_zero_and_weights_reach_minus_254() {
        let f = |weight, reverse| TrackedFile {
            path: "/x".into(),
            weight,
            reverse,
        };
        assert!(judge(&f(0, false), 0).success());
        assert!(!judge(&f(0, false), 3).success());
        assert!(judge(&f(-10, false), 25).success());
        assert!(!judge(&f(-10, false), 26).success());
        assert!(!judge(&f(10, true), 26).success());
        // Above the fault threshold the product is the real server's extra weight.
        assert_eq!(judge(&f(-10, false), 25).weight_offset, Some(-250));
        assert_eq!(judge(&f(3, false), 4).weight_offset, Some(12));
        assert_eq!(judge(&f(3, true), 4).weight_offset, Some(-12));
        assert_eq!(
            judge(&f(0, false), 0).weight_offset,
            None,
            "weight 0: up/down only"
        );
        assert_eq!(
            judge(&f(-10, false), 26).weight_offset,
            None,
            "at fault: none"
        );
    }
}
