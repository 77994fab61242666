//! Import attributes (`import data from "./a.json" with { type: "json" }`),
//! which this QuickJS does not parse: the `with { type: "json" }` clause of
//! a static `import`/`export ... from` is blanked out (replaced by spaces,
//! so lines and columns stay) before the module is compiled. The loader
//! knows a JSON file by its extension, so the attribute adds nothing.
//!
//! Only a clause right after a module specifier that follows `from` or
//! `import`, holding exactly `type: "json"`, is touched; anything else is
//! left for QuickJS to judge.

use std::borrow::Cow;

fn skip_space(source: &[u8], mut at: usize) -> usize {
    while at < source.len() && source[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

fn skip_space_back(source: &[u8], mut at: usize) -> usize {
    while at > 0 && source[at - 1].is_ascii_whitespace() {
        at -= 1;
    }
    at
}

/// Whether the string literal that ends just before `end` (its closing
/// quote at `end - 1`) follows `from` or `import`.
fn after_specifier(source: &[u8], end: usize) -> bool {
    let Some(&quote) = source.get(end.wrapping_sub(1)) else {
        return false;
    };
    if quote != b'"' && quote != b'\'' {
        return false;
    }
    let Some(open) = source[..end - 1].iter().rposition(|&c| c == quote) else {
        return false;
    };
    let before = skip_space_back(source, open);
    source[..before].ends_with(b"from") || source[..before].ends_with(b"import")
}

/// Whether `body` (between the braces) is `type: "json"`.
fn is_json_type(body: &[u8]) -> bool {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect();
    text == "type:json" || text == "type:json,"
}

/// `source` with each `with { type: "json" }` clause of a static import
/// blanked out.
pub(crate) fn blank_json_attributes(source: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut from = 0;
    while let Some(found) = source[from..].windows(4).position(|w| w == b"with") {
        let at = from + found;
        from = at + 4;
        let word_alone = at > 0
            && !source[at - 1].is_ascii_alphanumeric()
            && source
                .get(at + 4)
                .is_some_and(|c| !c.is_ascii_alphanumeric() && *c != b'_');
        if !word_alone || !after_specifier(source, skip_space_back(source, at)) {
            continue;
        }
        let open = skip_space(source, at + 4);
        if source.get(open) != Some(&b'{') {
            continue;
        }
        let Some(len) = source[open..].iter().position(|&c| c == b'}') else {
            continue;
        };
        let close = open + len;
        if !is_json_type(&source[open + 1..close]) {
            continue;
        }
        let buf = out.get_or_insert_with(|| source.to_vec());
        for byte in &mut buf[at..=close] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
        from = close + 1;
    }
    out.map_or(Cow::Borrowed(source), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(source: &str) -> String {
        String::from_utf8(blank_json_attributes(source.as_bytes()).into_owned()).unwrap_or_default()
    }

    #[test]
    fn blanks_the_json_type_clause_and_keeps_columns() {
        let src = "import a from \"./a.json\" with { type: \"json\" };\nexport { b } from './b.json' with {type:'json'};";
        let out = blank(src);
        assert_eq!(out.len(), src.len());
        assert!(!out.contains("with"), "{out}");
        assert!(out.starts_with("import a from \"./a.json\" "), "{out}");
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn leaves_everything_else() {
        for src in [
            "const with_x = 1; let s = \"a\" ;",
            "const s = \"x\"; with (o) { type: json }",
            "import a from './a.js' with { type: 'css' };",
            "const t = 'from' + \"q\" + withheld;",
        ] {
            assert_eq!(blank(src), src);
        }
    }
}
