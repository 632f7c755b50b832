//! Size expressions of case files (`"1p"`, `"2p+1"`, `"p/2"`, `"max"`, `"-1p"`) and
//! address expressions (`"mapping.old+1p"`, `"hole"`, `"top-1p"`).
//!
//! Parsing happens at load time, so a malformed expression is a located load error;
//! evaluation happens at plan time, once the page size and the argument's C type are known
//! (and at load time too, against every page size the suite meets; see `load`).
//!
//! Input is bounded and arithmetic is checked, so a hostile expression is an error, never a
//! stack overflow, a panic or a wrapped value.

use std::fmt;

/// The longest expression accepted, in bytes. It also bounds the depth of the tree that
/// evaluation, printing and dropping walk recursively.
pub const MAX_LEN: usize = 256;
/// The deepest nesting of `(` and unary `-` accepted.
pub const MAX_DEPTH: usize = 32;

/// A parsed size expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Int(i128),
    /// The page size of the running system.
    Page,
    /// The largest value of the argument's C type.
    Max,
    /// The end of the user address space.
    Top,
    Neg(Box<Expr>),
    Bin(Box<Expr>, Op, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// Why `top` has no value: the host could not read it ([`Env::top`] is 0).
pub const NO_TOP: &str = "the top of the user address space could not be read on this system";

/// What an expression is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    pub page: i128,
    pub max: i128,
    pub top: i128,
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, String> {
        if text.len() > MAX_LEN {
            return Err(format!(
                "expression is {} bytes long; at most {MAX_LEN} are accepted",
                text.len()
            ));
        }
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            depth: 0,
        };
        let e = p.expr()?;
        p.skip_ws();
        if p.i != p.s.len() {
            return Err(format!(
                "unexpected `{}` at column {} of expression `{text}`",
                &text[p.i..],
                p.i + 1
            ));
        }
        Ok(e)
    }

    /// Evaluates in checked 128-bit arithmetic (overflow and division by zero are errors);
    /// the caller decides how the value fits its C type, or uses [`Expr::value`].
    pub fn eval(&self, env: Env) -> Result<i128, String> {
        Ok(match self {
            Expr::Int(v) => *v,
            Expr::Page => env.page,
            Expr::Max => env.max,
            Expr::Top if env.top == 0 => return Err(NO_TOP.into()),
            Expr::Top => env.top,
            Expr::Neg(e) => {
                let v = e.eval(env)?;
                v.checked_neg()
                    .ok_or_else(|| format!("overflow in -({v})"))?
            }
            Expr::Bin(a, op, b) => {
                let (a, b) = (a.eval(env)?, b.eval(env)?);
                let (v, c) = match op {
                    Op::Add => (a.checked_add(b), '+'),
                    Op::Sub => (a.checked_sub(b), '-'),
                    Op::Mul => (a.checked_mul(b), '*'),
                    Op::Div if b == 0 => return Err("division by zero".into()),
                    Op::Div => (a.checked_div(b), '/'),
                };
                v.ok_or_else(|| format!("overflow in {a} {c} {b}"))?
            }
        })
    }

    /// Evaluates for an argument of C type `ty` (`max` is that type's largest value) and
    /// checks that the value fits it.
    pub fn value(&self, ty: CType, env: Env) -> Result<i128, String> {
        self.value_for(ty, env, usize::BITS)
    }

    /// As [`Expr::value`] for an ABI whose words (size_t, pointers) are `word_bits` wide:
    /// the loader checks case files for 64-bit ABIs whatever it was built for.
    pub fn value_for(&self, ty: CType, env: Env, word_bits: u32) -> Result<i128, String> {
        let v = self.eval(Env {
            max: ty.max_for(word_bits),
            ..env
        })?;
        if v < ty.min() || v > ty.max_for(word_bits) {
            return Err(format!("`{self}` = {v} does not fit {}", ty.name()));
        }
        Ok(v)
    }
}

/// The C type an expression's value is passed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CType {
    /// A length: `size_t`. Negative values down to `INT64_MIN` are allowed and passed as C
    /// would convert them.
    Size,
    /// A file offset or size: `off_t` (64 bits on every OS and arch the suite runs on).
    Off,
    /// A resource limit: `rlim_t`.
    Rlim,
    /// An offset added to an address: pointer-sized, either sign.
    Ptr,
}

impl CType {
    pub fn name(self) -> &'static str {
        match self {
            CType::Size => "size_t",
            CType::Off => "off_t",
            CType::Rlim => "rlim_t",
            CType::Ptr => "an address offset",
        }
    }

    /// The value of `max` for this type on this build's ABI.
    pub fn max(self) -> i128 {
        self.max_for(usize::BITS)
    }

    /// The value of `max` for this type where words are `word_bits` wide (32 or 64).
    pub fn max_for(self, word_bits: u32) -> i128 {
        match self {
            CType::Size | CType::Ptr => (1i128 << word_bits) - 1,
            CType::Off => i64::MAX as i128,
            CType::Rlim => u64::MAX as i128,
        }
    }

    /// The least value accepted.
    pub fn min(self) -> i128 {
        match self {
            CType::Size | CType::Ptr => i64::MIN as i128,
            CType::Off => i64::MIN as i128,
            CType::Rlim => 0,
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

impl Expr {
    /// Writes with the fewest parentheses: `outer` is the binding strength around us.
    fn write(&self, f: &mut fmt::Formatter<'_>, outer: u8) -> fmt::Result {
        match self {
            Expr::Int(v) => write!(f, "{v}"),
            Expr::Page => write!(f, "p"),
            Expr::Max => write!(f, "max"),
            Expr::Top => write!(f, "top"),
            Expr::Neg(e) => {
                f.write_str("-")?;
                e.write(f, 3)
            }
            Expr::Bin(a, Op::Mul, b) if matches!((&**a, &**b), (Expr::Int(_), Expr::Page)) => {
                write!(f, "{a}p")
            }
            Expr::Bin(a, op, b) => {
                let (c, strength) = match op {
                    Op::Add => ('+', 1),
                    Op::Sub => ('-', 1),
                    Op::Mul => ('*', 2),
                    Op::Div => ('/', 2),
                };
                if strength < outer {
                    f.write_str("(")?;
                }
                a.write(f, strength)?;
                write!(f, "{c}")?;
                // The right side binds tighter: a-(b-c) keeps its parentheses.
                b.write(f, strength + 1)?;
                if strength < outer {
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// Open `(` and unary `-` around the current position.
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut lhs = self.term()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let op = if c == b'+' { Op::Add } else { Op::Sub };
            lhs = Expr::Bin(Box::new(lhs), op, Box::new(self.term()?));
        }
        Ok(lhs)
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut lhs = self.factor()?;
        while let Some(c @ (b'*' | b'/')) = self.peek() {
            self.i += 1;
            let op = if c == b'*' { Op::Mul } else { Op::Div };
            lhs = Expr::Bin(Box::new(lhs), op, Box::new(self.factor()?));
        }
        Ok(lhs)
    }

    /// Enters one level of `(` or unary `-`, refusing to go deeper than [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "nested deeper than {MAX_DEPTH} brackets or signs at column {}",
                self.i + 1
            ));
        }
        Ok(())
    }

    fn factor(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(b'-') => {
                self.i += 1;
                self.enter()?;
                let e = Expr::Neg(Box::new(self.factor()?));
                self.depth -= 1;
                Ok(e)
            }
            Some(b'(') => {
                self.i += 1;
                self.enter()?;
                let e = self.expr()?;
                if self.peek() != Some(b')') {
                    return Err(format!("expected `)` at column {}", self.i + 1));
                }
                self.i += 1;
                self.depth -= 1;
                Ok(e)
            }
            Some(b'p') => {
                self.i += 1;
                Ok(Expr::Page)
            }
            Some(b'm') if self.s[self.i..].starts_with(b"max") => {
                self.i += 3;
                Ok(Expr::Max)
            }
            Some(b't') if self.s[self.i..].starts_with(b"top") => {
                self.i += 3;
                Ok(Expr::Top)
            }
            Some(c) if c.is_ascii_digit() => self.number(),
            Some(_) => Err(format!(
                "expected a number, `p`, `max`, `top`, `-` or `(` at column {}, found `{}`",
                self.i + 1,
                String::from_utf8_lossy(&self.s[self.i..])
                    .chars()
                    .next()
                    .unwrap_or('?')
            )),
            None => Err("expression ends too early".into()),
        }
    }

    /// `123`, `0x1f`, optionally followed by `p` (pages).
    fn number(&mut self) -> Result<Expr, String> {
        let start = self.i;
        let hex = self.s[self.i..].starts_with(b"0x");
        if hex {
            self.i += 2;
        }
        let digits_start = self.i;
        while self.i < self.s.len()
            && (if hex {
                self.s[self.i].is_ascii_hexdigit()
            } else {
                self.s[self.i].is_ascii_digit()
            })
        {
            self.i += 1;
        }
        let digits = std::str::from_utf8(&self.s[digits_start..self.i]).unwrap_or("");
        let v = i128::from_str_radix(digits, if hex { 16 } else { 10 }).map_err(|e| {
            format!(
                "bad number `{}`: {e}",
                String::from_utf8_lossy(&self.s[start..self.i])
            )
        })?;
        if self.s.get(self.i) == Some(&b'p') {
            self.i += 1;
            return Ok(Expr::Bin(
                Box::new(Expr::Int(v)),
                Op::Mul,
                Box::new(Expr::Page),
            ));
        }
        Ok(Expr::Int(v))
    }
}

/// The base an address expression is relative to.
#[derive(Debug, Clone, PartialEq)]
pub enum AddrBase {
    Null,
    /// What the call under test returned.
    Result,
    /// A setup mapping, by name.
    Mapping(String),
    /// A range known to be free just before the call.
    Hole,
    /// The end of the user address space.
    Top,
}

/// `base[+expr|-expr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AddrExpr {
    pub base: AddrBase,
    pub offset: Option<Expr>,
    /// As written, for messages.
    pub text: String,
}

impl fmt::Display for AddrExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AddrExpr {
    pub fn parse(text: &str) -> Result<AddrExpr, String> {
        let text = text.trim();
        if text.len() > MAX_LEN {
            return Err(format!(
                "address is {} bytes long; at most {MAX_LEN} are accepted",
                text.len()
            ));
        }
        let split = text.find(['+', '-']).unwrap_or(text.len());
        let (head, tail) = text.split_at(split);
        let head = head.trim();
        let base = match head {
            "null" => AddrBase::Null,
            "result" => AddrBase::Result,
            "hole" => AddrBase::Hole,
            "top" => AddrBase::Top,
            _ => match head.strip_prefix("mapping.") {
                Some(name) if !name.is_empty() => AddrBase::Mapping(name.to_string()),
                _ => {
                    return Err(format!(
                        "unknown address base `{head}`; expected null, result, hole, top or mapping.NAME"
                    ));
                }
            },
        };
        let offset = if tail.is_empty() {
            None
        } else {
            // `0+tail` keeps the sign and lets the expression grammar do the rest.
            Some(Expr::parse(&format!("0{tail}"))?)
        };
        Ok(AddrExpr {
            base,
            offset,
            text: text.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const ENV: Env = Env {
        page: 16384,
        max: u64::MAX as i128,
        top: 1 << 47,
    };

    #[rstest]
    #[case("0", 0)]
    #[case("1p", 16384)]
    #[case("p", 16384)]
    #[case("2p+1", 32769)]
    #[case("p/2", 8192)]
    #[case("-1p", -16384)]
    #[case("max", u64::MAX as i128)]
    #[case("max-1p+2", u64::MAX as i128 - 16382)]
    #[case("0x10", 16)]
    #[case("3 * (p - 1)", 3 * 16383)]
    #[case("--1", 1)]
    #[case("top-1p", (1 << 47) - 16384)]
    fn sizes_evaluate_against_the_page_size(#[case] text: &str, #[case] want: i128) {
        assert_eq!(Expr::parse(text).unwrap().eval(ENV).unwrap(), want);
    }

    #[rstest]
    #[case("", "ends too early")]
    #[case("1q", "unexpected `q`")]
    #[case("(1", "expected `)`")]
    #[case("pages", "unexpected `ages`")]
    #[case("+1", "expected a number")]
    fn malformed_sizes_are_rejected_with_a_reason(#[case] text: &str, #[case] want: &str) {
        let err = Expr::parse(text).unwrap_err();
        assert!(err.contains(want), "{err}");
    }

    #[rstest]
    #[case("p/2")]
    #[case("2p+1")]
    #[case("max-1p+2")]
    #[case("3*(p-1)")]
    #[case("1-(2-3)")]
    #[case("-1p")]
    fn sizes_print_back_as_written(#[case] text: &str) {
        assert_eq!(Expr::parse(text).unwrap().to_string(), text);
    }

    #[test]
    fn division_by_zero_is_an_error_not_a_panic() {
        assert!(Expr::parse("1/0").unwrap().eval(ENV).is_err());
    }

    /// i128::MIN, which no literal reaches directly (the largest literal is i128::MAX).
    const I128_MIN: &str = "(-170141183460469231731687303715884105727-1)";

    #[rstest]
    #[case::min_divided_by_minus_one(format!("{I128_MIN}/(-1)"))]
    #[case::negated_min(format!("-{I128_MIN}"))]
    #[case::sum(format!("{}+1", i128::MAX))]
    #[case::difference(format!("{I128_MIN}-1"))]
    #[case::product("max*max*max*max*max".to_string())]
    // Wrapping would give exactly one 4 KiB page: 2^126 * 4 + 4096 is 4096 modulo 2^128.
    #[case::wraps_to_a_page("0x40000000000000000000000000000000*4+4096".to_string())]
    fn overflow_is_an_error_not_a_wrapped_value(#[case] text: String) {
        let err = Expr::parse(&text).unwrap().eval(ENV).unwrap_err();
        assert!(err.contains("overflow"), "{err}");
    }

    #[rstest]
    #[case::brackets(format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000)), "bytes long")]
    #[case::minus_signs(format!("{}1", "-".repeat(1_000_000)), "bytes long")]
    #[case::long_sum(vec!["1"; 30_000].join("+"), "bytes long")]
    #[case::short_but_deep(format!("{}1{}", "(".repeat(40), ")".repeat(40)), "nested deeper than")]
    #[case::many_signs(format!("{}1", "-".repeat(40)), "nested deeper than")]
    fn huge_or_deep_expressions_are_rejected_before_they_overflow_the_stack(
        #[case] text: String,
        #[case] want: &str,
    ) {
        let err = Expr::parse(&text).unwrap_err();
        assert!(err.contains(want), "{err}");
    }

    #[test]
    fn the_longest_accepted_sum_evaluates() {
        let text = vec!["1"; MAX_LEN / 2].join("+");
        assert!(text.len() <= MAX_LEN);
        assert_eq!(
            Expr::parse(&text).unwrap().eval(ENV).unwrap(),
            (MAX_LEN / 2) as i128
        );
    }

    #[rstest]
    #[case(CType::Size, "max+1", "does not fit size_t")]
    #[case(CType::Off, "max+1", "does not fit off_t")]
    #[case(CType::Rlim, "-1", "does not fit rlim_t")]
    #[case(CType::Size, "-max", "does not fit size_t")]
    fn values_outside_their_c_type_are_errors(
        #[case] ty: CType,
        #[case] text: &str,
        #[case] want: &str,
    ) {
        let err = Expr::parse(text).unwrap().value(ty, ENV).unwrap_err();
        assert!(err.contains(want), "{err}");
    }

    #[rstest]
    #[case(CType::Size, "max", u64::MAX as i128)]
    #[case(CType::Size, "-1p", -16384)]
    #[case(CType::Off, "max", i64::MAX as i128)]
    #[case(CType::Rlim, "max", u64::MAX as i128)]
    fn values_inside_their_c_type_are_kept(
        #[case] ty: CType,
        #[case] text: &str,
        #[case] want: i128,
    ) {
        assert_eq!(Expr::parse(text).unwrap().value(ty, ENV).unwrap(), want);
    }

    #[rstest]
    #[case("null", AddrBase::Null, 0)]
    #[case("null+1p", AddrBase::Null, 16384)]
    #[case("result+p/2", AddrBase::Result, 8192)]
    #[case("mapping.old-1", AddrBase::Mapping("old".into()), -1)]
    #[case("hole", AddrBase::Hole, 0)]
    #[case("top-2p", AddrBase::Top, -32768)]
    fn addresses_split_into_base_and_offset(
        #[case] text: &str,
        #[case] base: AddrBase,
        #[case] off: i128,
    ) {
        let a = AddrExpr::parse(text).unwrap();
        assert_eq!(a.base, base);
        let got = a.offset.map(|e| e.eval(ENV).unwrap()).unwrap_or(0);
        assert_eq!(got, off);
    }

    #[rstest]
    #[case("nowhere")]
    #[case("mapping.")]
    #[case("result+")]
    fn bad_addresses_are_rejected(#[case] text: &str) {
        assert!(AddrExpr::parse(text).is_err());
    }
}
