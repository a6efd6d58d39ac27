//! Framing of streamed answers: server-sent events (OpenAI, Anthropic) and
//! newline-delimited JSON (Ollama), fed chunk by chunk as they arrive.

/// Splits a byte stream into lines (LF or CRLF), keeping a partial last line.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    /// Adds bytes and returns the complete lines among them.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            out.push(String::from_utf8_lossy(&line).into_owned());
        }
        out
    }

    /// What is left after the stream ended (a last line without a newline).
    pub(crate) fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        let s = String::from_utf8_lossy(&rest)
            .trim_end_matches('\r')
            .to_owned();
        (!s.is_empty()).then_some(s)
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, when given.
    pub(crate) event: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub(crate) data: String,
}

/// Assembles server-sent events from lines.
#[derive(Debug, Default)]
pub(crate) struct Sse {
    event: Option<String>,
    data: Vec<String>,
}

impl Sse {
    /// Feeds one line; a blank line completes an event.
    pub(crate) fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
        None
    }

    /// Completes a pending event at the end of the stream.
    pub(crate) fn dispatch(&mut self) -> Option<SseEvent> {
        if self.data.is_empty() {
            self.event = None;
            return None;
        }
        Some(SseEvent {
            event: self.event.take(),
            data: std::mem::take(&mut self.data).join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_survive_any_chunking() {
        let wire = b": keep-alive\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
        for size in [1, 2, 3, 7, wire.len()] {
            let (mut lines, mut sse, mut got) = (Lines::default(), Sse::default(), Vec::new());
            for chunk in wire.chunks(size) {
                for l in lines.push(chunk) {
                    got.extend(sse.line(&l));
                }
            }
            assert!(lines.finish().is_none());
            got.extend(sse.dispatch());
            assert_eq!(got.len(), 3, "chunk size {size}");
            assert_eq!(got[0].event.as_deref(), Some("message_start"));
            assert_eq!(got[1].data, "x\ny");
            assert_eq!(got[2].data, "[DONE]");
        }
        let mut lines = Lines::default();
        assert!(lines.push(b"{\"done\":true}").is_empty());
        assert_eq!(lines.finish().as_deref(), Some("{\"done\":true}"));
    }
}
