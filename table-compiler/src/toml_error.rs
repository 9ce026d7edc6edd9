//! Where in a TOML file an error is, said in one line: the config and the
//! target file parsers both report through this.

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let col = offset - before.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}

/// TOML errors come as "what\nexpected ..."; one line reads better after
/// "file:line:col:".
pub(crate) fn one_line(message: &str) -> String {
    message.trim().replace('\n', "; ")
}

/// "line L, column C: message" for a TOML/serde error.
pub fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(s) => {
            let (l, c) = line_col(text, s.start);
            format!("line {l}, column {c}: {}", one_line(e.message()))
        }
        None => one_line(e.message()),
    }
}
