//! Just enough of sh(1) to read an rc.d script: split it into simple
//! commands (quotes, `\` continuations, comments, `$(…)` and `${…}`
//! nesting), tell which ones are inside a function, and expand `$var`,
//! `${var}`, `${var:-word}` and friends against the variables the script
//! sets. Syntax itself is left to `sh -n`.

use std::collections::BTreeMap;

/// One simple command: its words as written and where it starts.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// 1-based line of the first word.
    pub line: usize,
    /// Words as written (quotes kept).
    pub raw: Vec<String>,
    /// The function it is in, if any.
    pub function: Option<String>,
}

impl Cmd {
    /// Words with quotes removed (parameter references kept).
    pub fn words(&self) -> Vec<String> {
        self.raw.iter().map(|w| unquote(w)).collect()
    }
}

/// End (exclusive) of a `'…'` starting at `i` (the quote).
fn skip_sq(c: &[char], mut i: usize) -> usize {
    i += 1;
    while i < c.len() && c[i] != '\'' {
        i += 1;
    }
    (i + 1).min(c.len())
}

/// End (exclusive) of a `"…"` starting at `i`.
fn skip_dq(c: &[char], mut i: usize) -> usize {
    i += 1;
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            '$' if matches!(c.get(i + 1), Some('(' | '{')) => i = skip_group(c, i + 1),
            '`' => i = skip_backtick(c, i),
            _ => i += 1,
        }
    }
    c.len()
}

fn skip_backtick(c: &[char], mut i: usize) -> usize {
    i += 1;
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '`' => return i + 1,
            _ => i += 1,
        }
    }
    c.len()
}

/// End of a bracketed group starting at `i` (the opening bracket: `(` of a
/// `$(…)` command substitution, `{` of a `${…}` parameter expansion), nested
/// groups and quotes skipped.
fn skip_group(c: &[char], mut i: usize) -> usize {
    let (open, close) = match c.get(i) {
        Some('{') => ('{', '}'),
        _ => ('(', ')'),
    };
    let mut depth = 0usize;
    while i < c.len() {
        match c[i] {
            x if x == open => {
                depth += 1;
                i += 1
            }
            x if x == close => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return i;
                }
            }
            '\'' => i = skip_sq(c, i),
            '"' => i = skip_dq(c, i),
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    c.len()
}

const KEYWORDS: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "for", "case", "esac", "!",
    "{", "}",
];

/// Split a script into simple commands.
#[allow(unused_assignments)]
pub fn commands(text: &str) -> Vec<Cmd> {
    let c: Vec<char> = text.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut line = 1usize;
    let mut start_line = 1usize;
    let mut function: Option<String> = None;
    let mut depth = 0usize;
    let mut pending_fn: Option<String> = None;
    let mut i = 0;
    let end_word = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    let mut cmds: Vec<Cmd> = Vec::new();
    let mut out_push = |raw: Vec<String>, line: usize, function: Option<String>| {
        cmds.push(Cmd {
            line,
            raw,
            function,
        })
    };
    macro_rules! finish {
        () => {{
            end_word(&mut word, &mut words);
            let mut ws = std::mem::take(&mut words);
            let start = start_line;
            'done: {
                if ws.is_empty() {
                    break 'done;
                }
                if ws.len() == 1 && ws[0].ends_with("()") {
                    pending_fn = Some(ws[0].trim_end_matches("()").to_string());
                    break 'done;
                }
                if ws.len() == 2 && ws[1] == "()" {
                    pending_fn = Some(ws[0].clone());
                    break 'done;
                }
                if ws.len() >= 2 && ws[0].ends_with("()") && ws[1] == "{" {
                    function = Some(ws[0].trim_end_matches("()").to_string());
                    depth += 1;
                    ws.drain(..2);
                }
                let mut k = 0;
                while k < ws.len() && KEYWORDS.contains(&ws[k].as_str()) {
                    match ws[k].as_str() {
                        "{" => {
                            if let Some(p) = pending_fn.take() {
                                function = Some(p);
                            }
                            depth += 1;
                        }
                        "}" => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                function = None;
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
                let mut rest: Vec<String> = ws[k..].to_vec();
                let closes = rest.last().is_some_and(|l| l == "}");
                if closes {
                    rest.pop();
                }
                if !rest.is_empty() {
                    out_push(rest, start, function.clone());
                }
                if closes {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        function = None;
                    }
                }
            }
        }};
    }
    while i < c.len() {
        let ch = c[i];
        if word.is_empty() && words.is_empty() && !ch.is_whitespace() {
            start_line = line;
        }
        match ch {
            '\\' if c.get(i + 1) == Some(&'\n') => {
                line += 1;
                i += 2;
            }
            '\\' => {
                word.push(ch);
                if let Some(n) = c.get(i + 1) {
                    word.push(*n);
                }
                i += 2;
            }
            '\'' | '"' | '`' => {
                let e = match ch {
                    '\'' => skip_sq(&c, i),
                    '"' => skip_dq(&c, i),
                    _ => skip_backtick(&c, i),
                };
                let s: String = c[i..e].iter().collect();
                line += s.matches('\n').count();
                word.push_str(&s);
                i = e;
            }
            '$' if matches!(c.get(i + 1), Some('(') | Some('{')) => {
                let e = skip_group(&c, i + 1);
                let s: String = c[i..e].iter().collect();
                line += s.matches('\n').count();
                word.push_str(&s);
                i = e;
            }
            '#' if word.is_empty() => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '\n' | ';' | '&' | '|' => {
                finish!();
                if ch == '\n' {
                    line += 1;
                }
                i += 1;
            }
            c0 if c0.is_whitespace() => {
                end_word(&mut word, &mut words);
                i += 1;
            }
            _ => {
                word.push(ch);
                i += 1;
            }
        }
    }
    finish!();
    cmds
}

/// Remove quoting from one word, keeping `$…` references as written.
pub fn unquote(w: &str) -> String {
    let c: Vec<char> = w.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\'' => {
                let e = skip_sq(&c, i);
                out.extend(&c[i + 1..e.saturating_sub(1).max(i + 1)]);
                i = e;
            }
            '"' => {
                let e = skip_dq(&c, i);
                let mut j = i + 1;
                let stop = e.saturating_sub(1).max(j);
                while j < stop {
                    if c[j] == '\\' && j + 1 < stop && "$`\"\\\n".contains(c[j + 1]) {
                        if c[j + 1] != '\n' {
                            out.push(c[j + 1]);
                        }
                        j += 2;
                    } else {
                        out.push(c[j]);
                        j += 1;
                    }
                }
                i = e;
            }
            '\\' => {
                if let Some(n) = c.get(i + 1) {
                    out.push(*n);
                }
                i += 2;
            }
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

/// Split an already-expanded string into words the way `eval` would
/// (whitespace, quotes).
pub fn split(s: &str) -> Vec<String> {
    commands(s).into_iter().flat_map(|c| c.words()).collect()
}

/// Expand parameter references in `s`. Unknown variables stay as
/// `${name}` (they come from rc.conf at run time).
pub fn expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    expand_depth(s, vars, 0)
}

fn expand_depth(s: &str, vars: &BTreeMap<String, String>, depth: usize) -> String {
    if depth > 8 {
        return s.to_string();
    }
    let c: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] != '$' {
            out.push(c[i]);
            i += 1;
            continue;
        }
        if c.get(i + 1) == Some(&'{') {
            let e = skip_group(&c, i + 1);
            let inner: String = c[i + 2..e.saturating_sub(1).max(i + 2)].iter().collect();
            let name_end = inner
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(inner.len());
            let (name, op) = inner.split_at(name_end);
            let val = vars.get(name).cloned();
            let rendered = if let Some(word) = op
                .strip_prefix(":-")
                .or_else(|| op.strip_prefix(":="))
                .or_else(|| op.strip_prefix('-'))
                .or_else(|| op.strip_prefix('='))
            {
                match val.filter(|v| !v.is_empty()) {
                    Some(v) => v,
                    None => expand_depth(&unquote(word), vars, depth + 1),
                }
            } else if let Some(word) = op.strip_prefix(":+") {
                match val.filter(|v| !v.is_empty()) {
                    Some(_) => expand_depth(&unquote(word), vars, depth + 1),
                    None => String::new(),
                }
            } else if op.is_empty() {
                match val {
                    Some(v) => expand_depth(&v, vars, depth + 1),
                    None => format!("${{{name}}}"),
                }
            } else {
                format!("${{{inner}}}")
            };
            out.push_str(&rendered);
            i = e;
        } else {
            let start = i + 1;
            let mut j = start;
            while j < c.len() && (c[j].is_ascii_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            if j == start {
                out.push('$');
                i += 1;
                continue;
            }
            let name: String = c[start..j].iter().collect();
            match vars.get(&name) {
                Some(v) => out.push_str(&expand_depth(v, vars, depth + 1)),
                None => out.push_str(&format!("${{{name}}}")),
            }
            i = j;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_end_at_their_matching_bracket() {
        let end = |s: &str| {
            let c: Vec<char> = s.chars().collect();
            let e = skip_group(&c, 0);
            c[..e].iter().collect::<String>()
        };
        assert_eq!(
            end(r#"(a (b) ')' ")" \) c) rest"#),
            r#"(a (b) ')' ")" \) c)"#
        );
        assert_eq!(end("{x:-${y}} rest"), "{x:-${y}}");
        assert_eq!(end("{x:-'}'} rest"), "{x:-'}'}");
        assert_eq!(end("(never closed"), "(never closed");
    }

    #[test]
    fn commands_functions_and_continuations() {
        let text = "#!/bin/sh\n# c\nname=\"x\" # tail\ncommand_args=\"-f \\\n  -P ${pidfile}\"\nf()\n{\n\tinstall -d -o \"$u\" /var/run/x || return 1\n\tif [ -e \"$(stat -f %Lp \"${y}\")\" ]; then\n\t\twarn \"a; b\"\n\tfi\n}\nrun_rc_command \"$1\"\n";
        let cmds = commands(text);
        let shown: Vec<(usize, Vec<String>, Option<String>)> = cmds
            .iter()
            .map(|c| (c.line, c.words(), c.function.clone()))
            .collect();
        assert_eq!(shown[0], (3, vec!["name=x".to_string()], None));
        assert_eq!(
            shown[1].1,
            vec!["command_args=-f   -P ${pidfile}".to_string()]
        );
        assert_eq!(shown[2].2.as_deref(), Some("f"));
        assert_eq!(shown[2].1[0], "install");
        assert!(shown
            .iter()
            .any(|s| s.1 == ["warn", "a; b"] && s.2.as_deref() == Some("f")));
        let last = shown.last().unwrap();
        assert_eq!(
            (last.1[0].as_str(), last.2.as_deref()),
            ("run_rc_command", None)
        );
    }

    #[test]
    fn expansion() {
        let mut v = BTreeMap::new();
        v.insert("name".to_string(), "bot".to_string());
        v.insert(
            "pidfile".to_string(),
            "/var/run/${name}/${name}.pid".to_string(),
        );
        assert_eq!(
            expand("-P ${pidfile} $name", &v),
            "-P /var/run/bot/bot.pid bot"
        );
        assert_eq!(expand("${x:-/y} ${unset}", &v), "/y ${unset}");
        assert_eq!(split("-f 'a b' c"), ["-f", "a b", "c"]);
    }
}
