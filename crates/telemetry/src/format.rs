//! keepalived's console log format: `strftime("%c") + ": " + message`.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as keepalived does with `-l`: `Sat Nov 28 15:33:29 2026: message`.
/// With `detail` (`-D`) the level and the emitting module follow the time.
#[derive(Debug, Clone, Copy)]
pub struct KeepalivedFormat {
    detail: bool,
}

impl KeepalivedFormat {
    /// A formatter; `detail` adds level and source to each line.
    pub fn new(detail: bool) -> Self {
        Self { detail }
    }
}

/// `%c` in the C locale, which is what keepalived's `-l` output uses.
pub(crate) const C_LOCALE_DATETIME: &str = "%a %b %e %H:%M:%S %Y";

impl<S, N> FormatEvent<S, N> for KeepalivedFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(
            writer,
            "{}: ",
            chrono::Local::now().format(C_LOCALE_DATETIME)
        )?;
        if self.detail {
            let meta = event.metadata();
            write!(writer, "[{} {}] ", meta.level(), meta.target())?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(detail: bool, f: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(KeepalivedFormat::new(detail))
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn console_line_is_c_locale_time_then_message() {
        let out = capture(false, || tracing::info!("(VI_1) Entering MASTER STATE"));
        let (time, message) = out.trim_end().split_once(": ").unwrap();
        assert_eq!(message, "(VI_1) Entering MASTER STATE");
        // e.g. "Sat Nov 28 15:33:29 2026"
        chrono::NaiveDateTime::parse_from_str(time, C_LOCALE_DATETIME)
            .unwrap_or_else(|e| panic!("{time:?} is not in %c form: {e}"));
    }

    /// A log written to a file (not a terminal) has no escape bytes around the fields.
    #[test]
    fn fields_without_ansi_have_no_escape_bytes() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(KeepalivedFormat::new(false))
                .with_ansi(false)
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(delivery = "d-1", error = "refused", "delivery failed")
        });
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(
            out.contains(r#"delivery failed delivery="d-1" error="refused""#),
            "{out:?}"
        );
        assert!(!out.contains('\u{1b}'), "{out:?}");
    }

    #[test]
    fn detail_adds_level_and_source() {
        let out = capture(true, || tracing::warn!("stale verdicts"));
        assert!(
            out.contains("[WARN keepalived_telemetry::format::tests] stale verdicts"),
            "{out}"
        );
    }
}
