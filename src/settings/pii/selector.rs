//! Relay's PII selector grammar (docs/relay-pii.md, "Selectors"), so `safeFields` and the `applications`
//! of `relayPiiConfig` accept exactly what Relay accepts and refuse the rest with Relay's messages.
//!
//! The parser is a hand-written PEG: ordered choice commits to the first alternative that matches, and
//! a repeated group that fails part-way gives back what it consumed, as pest does. Only U+0020 counts
//! as whitespace.

use std::fmt;
use std::str::FromStr;

/// Value types (`$name`), in Relay's internal order (which orders parsed selectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    String,
    Binary,
    Number,
    Boolean,
    DateTime,
    Array,
    Object,
    Event,
    Attachments,
    Replay,
    Exception,
    Stacktrace,
    Frame,
    Request,
    User,
    LogEntry,
    Message,
    Thread,
    Breadcrumb,
    Log,
    TraceMetric,
    Span,
    ClientSdkInfo,
    Minidump,
    HeapMemory,
    StackMemory,
}

impl ValueType {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "string" => ValueType::String,
            "binary" => ValueType::Binary,
            "number" => ValueType::Number,
            "boolean" | "bool" => ValueType::Boolean,
            "datetime" => ValueType::DateTime,
            "array" | "list" => ValueType::Array,
            "object" => ValueType::Object,
            "event" => ValueType::Event,
            "attachments" => ValueType::Attachments,
            "replay" => ValueType::Replay,
            "error" | "exception" => ValueType::Exception,
            "stack" | "stacktrace" => ValueType::Stacktrace,
            "frame" => ValueType::Frame,
            "http" | "request" => ValueType::Request,
            "user" => ValueType::User,
            "logentry" => ValueType::LogEntry,
            "message" => ValueType::Message,
            "thread" => ValueType::Thread,
            "breadcrumb" => ValueType::Breadcrumb,
            "log" => ValueType::Log,
            "trace_metric" => ValueType::TraceMetric,
            "span" => ValueType::Span,
            "sdk" => ValueType::ClientSdkInfo,
            "minidump" => ValueType::Minidump,
            "heap_memory" => ValueType::HeapMemory,
            "stack_memory" => ValueType::StackMemory,
            _ => return None,
        })
    }
}

/// One item of a path. The variant order is Relay's, which orders parsed selectors.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathItem {
    Type(ValueType),
    Index(u64),
    Key(String),
    Wildcard,
    DeepWildcard,
}

/// A parsed selector. The variant order is Relay's (AND < OR < NOT < path).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Selector {
    And(Vec<Selector>),
    Or(Vec<Selector>),
    Not(Box<Selector>),
    Path(Vec<PathItem>),
}

/// Why a selector is refused, with Relay's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorError {
    /// `invalid syntax near "<the whole input>"`
    Syntax(String),
    UnknownValue,
    InvalidIndex,
    DeepWildcardTwice,
    LoneWildcard,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectorError::Syntax(input) => write!(f, "invalid syntax near {input:?}"),
            SelectorError::UnknownValue => f.write_str("unknown value"),
            SelectorError::InvalidIndex => f.write_str("invalid index"),
            SelectorError::DeepWildcardTwice => f.write_str("deep wildcard used more than once"),
            SelectorError::LoneWildcard => f.write_str("wildcard must be part of a path"),
        }
    }
}

impl std::error::Error for SelectorError {}

/// Nesting deeper than this is refused as a syntax error (Relay itself would overflow its stack).
const MAX_DEPTH: usize = 256;

impl FromStr for Selector {
    type Err = SelectorError;

    /// Relay's `SelectorSpec::from_str`, legacy words included.
    fn from_str(input: &str) -> Result<Self, SelectorError> {
        match input {
            "freeform" | "email" | "sensitive" | "text" => {
                return Ok(Selector::Path(vec![PathItem::Type(ValueType::String)]));
            }
            "databag" | "container" => {
                return Ok(Selector::Path(vec![PathItem::Type(ValueType::Object)]));
            }
            _ => {}
        }
        let raw = Parser::new(input)
            .selector()
            .ok_or_else(|| SelectorError::Syntax(input.to_owned()))?;
        check(raw)
    }
}

/// Relay's `validate_pii_selector`.
pub fn validate_pii_selector(input: &str) -> Result<Selector, SelectorError> {
    input.parse()
}

/// The parse tree before the semantic checks: value type names and indices as written.
enum Raw {
    And(Vec<Raw>),
    Or(Vec<Raw>),
    Not(Box<Raw>),
    Path(Vec<RawItem>),
}

enum RawItem {
    Type(String),
    Index(String),
    Key(String),
    Wildcard,
    DeepWildcard,
}

/// Relay's checks after parsing, left to right, first error wins.
fn check(raw: Raw) -> Result<Selector, SelectorError> {
    match raw {
        Raw::And(items) => Ok(Selector::And(
            items.into_iter().map(check).collect::<Result<_, _>>()?,
        )),
        Raw::Or(items) => Ok(Selector::Or(
            items.into_iter().map(check).collect::<Result<_, _>>()?,
        )),
        Raw::Not(inner) => Ok(Selector::Not(Box::new(check(*inner)?))),
        Raw::Path(items) => {
            let mut path = Vec::with_capacity(items.len());
            let mut deep = 0;
            for item in items {
                path.push(match item {
                    RawItem::Type(name) => PathItem::Type(
                        ValueType::from_name(&name).ok_or(SelectorError::UnknownValue)?,
                    ),
                    RawItem::Index(digits) => {
                        PathItem::Index(digits.parse().map_err(|_| SelectorError::InvalidIndex)?)
                    }
                    RawItem::Key(key) => PathItem::Key(key),
                    RawItem::Wildcard => PathItem::Wildcard,
                    RawItem::DeepWildcard => {
                        deep += 1;
                        if deep > 1 {
                            return Err(SelectorError::DeepWildcardTwice);
                        }
                        PathItem::DeepWildcard
                    }
                });
            }
            if path == [PathItem::Wildcard] {
                return Err(SelectorError::LoneWildcard);
            }
            Ok(Selector::Path(path))
        }
    }
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Self {
            input,
            pos: 0,
            depth: 0,
        }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn spaces(&mut self) {
        while self.eat(" ") {}
    }

    /// `selector := SP or_expr SP`, consuming everything.
    fn selector(mut self) -> Option<Raw> {
        self.spaces();
        let expr = self.or_expr()?;
        self.spaces();
        (self.pos == self.input.len()).then_some(expr)
    }

    /// `first (SP op SP next)*`, where a failing repetition gives back what it read.
    fn chain(
        &mut self,
        operator: fn(&mut Self) -> bool,
        operand: fn(&mut Self) -> Option<Raw>,
    ) -> Option<Vec<Raw>> {
        let mut items = vec![operand(self)?];
        loop {
            let save = self.pos;
            self.spaces();
            if !operator(self) {
                self.pos = save;
                break;
            }
            self.spaces();
            match operand(self) {
                Some(item) => items.push(item),
                None => {
                    self.pos = save;
                    break;
                }
            }
        }
        Some(items)
    }

    fn or_expr(&mut self) -> Option<Raw> {
        let mut items = self.chain(|p| p.eat("||") || p.eat("|"), Self::and_expr)?;
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Raw::Or(items)
        })
    }

    fn and_expr(&mut self) -> Option<Raw> {
        let mut items = self.chain(|p| p.eat("&&") || p.eat("&"), Self::unary)?;
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Raw::And(items)
        })
    }

    /// `NOT SP operand | operand`
    fn unary(&mut self) -> Option<Raw> {
        let save = self.pos;
        if self.eat("!") || self.eat("~") {
            self.spaces();
            if let Some(operand) = self.operand() {
                return Some(Raw::Not(Box::new(operand)));
            }
            self.pos = save;
        }
        self.operand()
    }

    /// `"(" SP or_expr SP ")" | path`
    fn operand(&mut self) -> Option<Raw> {
        let save = self.pos;
        if self.eat("(") {
            if self.depth >= MAX_DEPTH {
                return None;
            }
            self.depth += 1;
            self.spaces();
            let inner = self.or_expr();
            self.depth -= 1;
            if let Some(inner) = inner {
                self.spaces();
                if self.eat(")") {
                    return Some(inner);
                }
            }
            self.pos = save;
            return None;
        }
        self.path()
    }

    /// `item (SP "." SP item)*`
    fn path(&mut self) -> Option<Raw> {
        let mut items = vec![self.item()?];
        loop {
            let save = self.pos;
            self.spaces();
            if !self.eat(".") {
                self.pos = save;
                break;
            }
            self.spaces();
            match self.item() {
                Some(item) => items.push(item),
                None => {
                    self.pos = save;
                    break;
                }
            }
        }
        Some(Raw::Path(items))
    }

    /// `value_type | "**" | "*" | index | key`, first match wins.
    fn item(&mut self) -> Option<RawItem> {
        if let Some(name) = self.value_type() {
            return Some(RawItem::Type(name));
        }
        if self.eat("**") {
            return Some(RawItem::DeepWildcard);
        }
        if self.eat("*") {
            return Some(RawItem::Wildcard);
        }
        let digits = self.take_while(|c| c.is_ascii_digit());
        if !digits.is_empty() {
            return Some(RawItem::Index(digits.to_owned()));
        }
        self.unquoted_key()
            .or_else(|| self.quoted_key())
            .map(RawItem::Key)
    }

    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !accept(c)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// `"$" [a-z_]+`
    fn value_type(&mut self) -> Option<String> {
        let save = self.pos;
        if !self.eat("$") {
            return None;
        }
        let name = self.take_while(|c| c.is_ascii_lowercase() || c == '_');
        if name.is_empty() {
            self.pos = save;
            return None;
        }
        Some(name.to_owned())
    }

    /// `[A-Za-z_] [A-Za-z0-9_-]*`
    fn unquoted_key(&mut self) -> Option<String> {
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
            _ => return None,
        }
        let key = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        Some(key.to_owned())
    }

    /// `"'" SP ( "''" | !"'" ANY )+ "'"`: spaces right after the opening quote are skipped.
    fn quoted_key(&mut self) -> Option<String> {
        let save = self.pos;
        if !self.eat("'") {
            return None;
        }
        self.spaces();
        let mut key = String::new();
        loop {
            if self.eat("''") {
                key.push('\'');
                continue;
            }
            match self.peek() {
                Some('\'') | None => break,
                Some(c) => {
                    key.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
        if key.is_empty() || !self.eat("'") {
            self.pos = save;
            return None;
        }
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verdicts of the real library (docs/relay-pii.md, "The examples"): `None` = valid, `Some(text)` = Relay's error.
    const EXAMPLES: &[(&str, Option<&str>)] = &[
        ("foo", None),
        ("$user.id", None),
        ("$string", None),
        ("$http.headers.x-forwarded-for", None),
        ("$http.headers.X-Forwarded-For", None),
        ("extra.'sys.argv'.**", None),
        ("$exception.values.*.value", None),
        ("$frame.vars", None),
        ("contexts.device.name", None),
        ("foo.0", None),
        ("0", None),
        ("foo.01", None),
        ("foo.18446744073709551615", None),
        ("foo.18446744073709551616", Some("invalid index")),
        ("_foo", None),
        ("a-", None),
        ("-foo", Some("invalid syntax near \"-foo\"")),
        ("1foo", Some("invalid syntax near \"1foo\"")),
        ("foo.1a", Some("invalid syntax near \"foo.1a\"")),
        ("föo", Some("invalid syntax near \"föo\"")),
        ("'föo'", None),
        ("'foo bar'", None),
        ("'it''s'", None),
        ("''''", None),
        ("''", Some("invalid syntax near \"''\"")),
        ("' '", Some("invalid syntax near \"' '\"")),
        ("' foo'", None),
        ("'foo", Some("invalid syntax near \"'foo\"")),
        ("'a'b", Some("invalid syntax near \"'a'b\"")),
        ("\"foo\"", Some("invalid syntax near \"\\\"foo\\\"\"")),
        ("foo\\bar", Some("invalid syntax near \"foo\\\\bar\"")),
        ("'foo\\bar'", None),
        ("$HTTP", Some("invalid syntax near \"$HTTP\"")),
        (
            "$Http.headers",
            Some("invalid syntax near \"$Http.headers\""),
        ),
        ("$bogus", Some("unknown value")),
        ("$string_", Some("unknown value")),
        ("$_", Some("unknown value")),
        ("$frame2", Some("invalid syntax near \"$frame2\"")),
        ("$ string", Some("invalid syntax near \"$ string\"")),
        ("$email", Some("unknown value")),
        ("email", None),
        ("*", Some("wildcard must be part of a path")),
        ("**", None),
        ("*.*", None),
        ("*.**", None),
        ("**.**", Some("deep wildcard used more than once")),
        (
            "double.**.wildcard.**",
            Some("deep wildcard used more than once"),
        ),
        ("**.foo || **.bar", None),
        ("(*)", Some("wildcard must be part of a path")),
        ("!*", Some("wildcard must be part of a path")),
        ("foo || *", Some("wildcard must be part of a path")),
        ("*foo", Some("invalid syntax near \"*foo\"")),
        ("'*'", None),
        ("foo && bar", None),
        ("foo & bar", None),
        ("foo||bar", None),
        ("foo | bar", None),
        ("!foo", None),
        ("~foo", None),
        ("! foo", None),
        ("!!foo", Some("invalid syntax near \"!!foo\"")),
        ("!(!foo)", None),
        ("(foo || bar) && !baz", None),
        ("a && (b || (c && !d))", None),
        ("foo ||| bar", Some("invalid syntax near \"foo ||| bar\"")),
        ("foo & & bar", Some("invalid syntax near \"foo & & bar\"")),
        ("foo &&", Some("invalid syntax near \"foo &&\"")),
        ("()", Some("invalid syntax near \"()\"")),
        ("(foo", Some("invalid syntax near \"(foo\"")),
        ("(foo).bar", Some("invalid syntax near \"(foo).bar\"")),
        ("foo.(bar)", Some("invalid syntax near \"foo.(bar)\"")),
        ("", Some("invalid syntax near \"\"")),
        (" ", Some("invalid syntax near \" \"")),
        ("  foo  ", None),
        ("foo . bar", None),
        ("foo bar", Some("invalid syntax near \"foo bar\"")),
        (
            "no_spaces allowed",
            Some("invalid syntax near \"no_spaces allowed\""),
        ),
        ("foo\t&& bar", Some("invalid syntax near \"foo\\t&& bar\"")),
        ("foo\n", Some("invalid syntax near \"foo\\n\"")),
        ("foo\u{a0}", Some("invalid syntax near \"foo\\u{a0}\"")),
        ("a\u{1b}", Some("invalid syntax near \"a\\u{1b}\"")),
        ("foo..bar", Some("invalid syntax near \"foo..bar\"")),
        ("foo.", Some("invalid syntax near \"foo.\"")),
        ("foo[0]", Some("invalid syntax near \"foo[0]\"")),
        ("foo:bar", Some("invalid syntax near \"foo:bar\"")),
        ("foo/bar", Some("invalid syntax near \"foo/bar\"")),
        ("foo@bar", Some("invalid syntax near \"foo@bar\"")),
        ("emoji😀", Some("invalid syntax near \"emoji😀\"")),
        ("'emoji 😀'", None),
        ("$minidump.$binary", None),
        ("$attachments.'file.txt'", None),
        // §1.2–1.6 consequences spelled out in the prose
        ("foo &&& bar", Some("invalid syntax near \"foo &&& bar\"")),
        ("***", Some("invalid syntax near \"***\"")),
        ("**foo", Some("invalid syntax near \"**foo\"")),
        ("$http-foo", Some("invalid syntax near \"$http-foo\"")),
        ("((a))", None),
        ("( ( a ) )", None),
        ("~~a", Some("invalid syntax near \"~~a\"")),
        ("'''", Some("invalid syntax near \"'''\"")),
        ("'  '", Some("invalid syntax near \"'  '\"")),
        ("'a' b", Some("invalid syntax near \"'a' b\"")),
        ("'a'.'b'", None),
        ("foo.'bar baz'.qux", None),
        ("'tab\there'", None),
        (
            "$frame.**.foo.**",
            Some("deep wildcard used more than once"),
        ),
        ("!(**.a.**)", Some("deep wildcard used more than once")),
        ("(**)", None),
        ("!**", None),
        ("* && foo", Some("wildcard must be part of a path")),
        ("foo.*", None),
        ("**.*", None),
        ("$bogus.**.x.**", Some("unknown value")),
        ("**.x.**.$bogus", Some("deep wildcard used more than once")),
        ("* && $bogus", Some("wildcard must be part of a path")),
        ("$string && !$http.**", None),
        ("$string.$number", None),
        ("0.foo", None),
        ("x-forwarded-for", None),
        ("__", None),
        ("_123", None),
        ("foo$", Some("invalid syntax near \"foo$\"")),
    ];

    #[test]
    fn every_example_of_the_reference_gets_relays_verdict() {
        for (input, expected) in EXAMPLES {
            let got = validate_pii_selector(input).err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), *expected, "selector {input:?}");
        }
    }

    #[test]
    fn quoting_keeps_case_drops_leading_spaces_and_unescapes_doubled_quotes() {
        assert_eq!(
            "' it''s '.X".parse::<Selector>().unwrap(),
            Selector::Path(vec![
                PathItem::Key("it's ".into()),
                PathItem::Key("X".into())
            ])
        );
    }

    #[test]
    fn operators_group_and_before_or() {
        let parsed: Selector = "a || b && !c".parse().unwrap();
        let key = |k: &str| Selector::Path(vec![PathItem::Key(k.into())]);
        assert_eq!(
            parsed,
            Selector::Or(vec![
                key("a"),
                Selector::And(vec![key("b"), Selector::Not(Box::new(key("c")))])
            ])
        );
    }

    #[test]
    fn legacy_words_mean_value_types_only_when_written_alone() {
        assert_eq!(
            "freeform".parse::<Selector>().unwrap(),
            "$string".parse::<Selector>().unwrap()
        );
        assert_eq!(
            " freeform".parse::<Selector>().unwrap(),
            Selector::Path(vec![PathItem::Key("freeform".into())])
        );
    }

    #[test]
    fn very_deep_nesting_is_a_syntax_error_not_a_crash() {
        let deep = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
        assert!(matches!(
            validate_pii_selector(&deep),
            Err(SelectorError::Syntax(_))
        ));
        let fine = format!("{}a{}", "(".repeat(200), ")".repeat(200));
        assert!(validate_pii_selector(&fine).is_ok());
    }

    #[test]
    fn long_keys_and_long_paths_are_fine() {
        assert!(validate_pii_selector(&"k".repeat(4000)).is_ok());
        assert!(validate_pii_selector(&vec!["a"; 500].join(".")).is_ok());
    }
}
