//! Text from outside nodefit (peers' keys, result files, etcd's answers) made safe to print: a
//! terminal obeys escape sequences, so a peer or a forged result file could otherwise move the
//! cursor, rewrite earlier lines or set the window title.

/// `s` with every control character (C0, DEL, C1) and every bidirectional override shown as a
/// visible escape (`\x1b`, `\u{202e}`); everything else kept as it is.
pub fn printable(s: &str) -> String {
    escape(s, needs_escape)
}

/// As [`printable`], keeping line breaks and tabs: for text of several lines (an error chain).
pub fn printable_lines(s: &str) -> String {
    escape(s, |c| c != '\n' && c != '\t' && needs_escape(c))
}

fn escape(s: &str, needs_escape: impl Fn(char) -> bool) -> String {
    if !s.chars().any(&needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::{printable, printable_lines};

    #[test]
    fn escapes_become_visible_and_plain_text_stays() {
        assert_eq!(printable("cp1 ok"), "cp1 ok");
        assert_eq!(printable("né 10 µs"), "né 10 µs");
        assert_eq!(printable("a\x1b]0;owned\x07b"), "a\\x1b]0;owned\\x07b");
        assert_eq!(printable("x\ny\r"), "x\\x0ay\\x0d");
        assert_eq!(printable("\u{9b}2J"), "\\x9b2J");
        assert_eq!(printable("abc\u{202e}def"), "abc\\u{202e}def");
        assert_eq!(printable_lines("a\n\tb\x1b[2J"), "a\n\tb\\x1b[2J");
    }
}
