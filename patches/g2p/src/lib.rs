//! Galois fields GF(2^n), n ≤ 8, with the API of the `g2p` crate that
//! `rqrr` uses (see this crate's Cargo.toml for why it exists).
//!
//! `g2p!(Name, bits, modulus: m)` defines `pub struct Name(pub u8)` whose
//! arithmetic is that of GF(2^bits) modulo the polynomial `m`: addition is
//! XOR, multiplication is carry-less with reduction, division multiplies by
//! the inverse (`a^(2^bits - 2)`). The generator is `x` (2), which is what
//! the original macro picks for a primitive modulus (it takes the smallest
//! generating element), and `rqrr`'s moduli are primitive.

use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A finite field of characteristic 2, as `g2p` defines it (less the
/// modulus constant, which `rqrr` does not read).
pub trait GaloisField:
    Add<Output = Self>
    + AddAssign
    + Sum
    + Sub<Output = Self>
    + SubAssign
    + Neg<Output = Self>
    + Mul<Output = Self>
    + MulAssign
    + Product
    + Div<Output = Self>
    + DivAssign
    + Copy
    + PartialEq
    + Eq
{
    const SIZE: usize;
    const ZERO: Self;
    const ONE: Self;
    const GENERATOR: Self;

    /// `self` to the power `p`, by square-and-multiply.
    fn pow(self, mut p: usize) -> Self {
        let mut base = self;
        let mut val = Self::ONE;
        while p > 0 {
            if p & 1 == 1 {
                val *= base;
            }
            base *= base;
            p >>= 1;
        }
        val
    }
}

/// The product of `a` and `b` in GF(2^bits) modulo `modulus` (which
/// includes its leading `x^bits` term).
#[doc(hidden)]
pub const fn mul(a: u8, mut b: u8, bits: u32, modulus: u32) -> u8 {
    let top = 1u32 << bits;
    let mut acc: u32 = 0;
    let mut x = a as u32;
    while b != 0 {
        if b & 1 == 1 {
            acc ^= x;
        }
        x <<= 1;
        if x & top != 0 {
            x ^= modulus;
        }
        b >>= 1;
    }
    acc as u8
}

/// Defines a field type; see the crate documentation.
#[macro_export]
macro_rules! g2p {
    ($name:ident, $bits:literal, modulus: $modulus:literal) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub struct $name(pub u8);

        impl $name {
            const BITS: u32 = $bits;
            const MODULUS: u32 = $modulus;
        }

        impl ::core::convert::From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v.0
            }
        }

        impl ::core::convert::From<u8> for $name {
            fn from(v: u8) -> $name {
                $name(v & (((1u32 << $bits) - 1) as u8))
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl $crate::GaloisField for $name {
            const SIZE: usize = 1 << $bits;
            const ZERO: Self = $name(0);
            const ONE: Self = $name(1);
            const GENERATOR: Self = $name(2);
        }

        #[allow(clippy::suspicious_arithmetic_impl)]
        impl ::core::ops::Add for $name {
            type Output = $name;
            fn add(self, o: $name) -> $name {
                $name(self.0 ^ o.0)
            }
        }

        impl ::core::ops::AddAssign for $name {
            fn add_assign(&mut self, o: $name) {
                *self = *self + o;
            }
        }

        impl ::core::iter::Sum for $name {
            fn sum<I: Iterator<Item = $name>>(iter: I) -> $name {
                iter.fold($name(0), |a, b| a + b)
            }
        }

        #[allow(clippy::suspicious_arithmetic_impl)]
        impl ::core::ops::Sub for $name {
            type Output = $name;
            fn sub(self, o: $name) -> $name {
                $name(self.0 ^ o.0)
            }
        }

        impl ::core::ops::SubAssign for $name {
            fn sub_assign(&mut self, o: $name) {
                *self = *self - o;
            }
        }

        impl ::core::ops::Neg for $name {
            type Output = $name;
            fn neg(self) -> $name {
                self
            }
        }

        impl ::core::ops::Mul for $name {
            type Output = $name;
            fn mul(self, o: $name) -> $name {
                $name($crate::mul(self.0, o.0, Self::BITS, Self::MODULUS))
            }
        }

        impl ::core::ops::MulAssign for $name {
            fn mul_assign(&mut self, o: $name) {
                *self = *self * o;
            }
        }

        impl ::core::iter::Product for $name {
            fn product<I: Iterator<Item = $name>>(iter: I) -> $name {
                iter.fold($name(1), |a, b| a * b)
            }
        }

        #[allow(clippy::suspicious_arithmetic_impl)]
        impl ::core::ops::Div for $name {
            type Output = $name;
            fn div(self, o: $name) -> $name {
                assert!(o.0 != 0, "Division by 0");
                // In a field of q elements, o^(q-2) is o's inverse.
                self * $crate::GaloisField::pow(o, (1usize << $bits) - 2)
            }
        }

        impl ::core::ops::DivAssign for $name {
            fn div_assign(&mut self, o: $name) {
                *self = *self / o;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::GaloisField;

    g2p!(GF16, 4, modulus: 0b1_0011);
    g2p!(GF256, 8, modulus: 0b1_0001_1101);

    /// The textbook product: polynomial multiplication, then reduction by
    /// long division.
    fn slow_mul(a: u32, b: u32, bits: u32, modulus: u32) -> u32 {
        let mut p = 0u32;
        for i in 0..bits {
            if b >> i & 1 == 1 {
                p ^= a << i;
            }
        }
        for i in (bits..2 * bits).rev() {
            if p >> i & 1 == 1 {
                p ^= modulus << (i - bits);
            }
        }
        p
    }

    #[test]
    fn products_match_the_definition_for_every_pair() {
        for a in 0..256u32 {
            for b in 0..256u32 {
                assert_eq!(
                    u32::from((GF256(a as u8) * GF256(b as u8)).0),
                    slow_mul(a, b, 8, 0x11d),
                    "{a} * {b}"
                );
            }
        }
        for a in 0..16u32 {
            for b in 0..16u32 {
                assert_eq!(
                    u32::from((GF16(a as u8) * GF16(b as u8)).0),
                    slow_mul(a, b, 4, 0b1_0011)
                );
            }
        }
    }

    #[test]
    fn the_generator_generates_and_division_inverts() {
        // x has order q - 1: its powers run through every non-zero element.
        let mut seen = std::collections::HashSet::new();
        for i in 0..255 {
            assert!(seen.insert(GF256::GENERATOR.pow(i)));
        }
        assert_eq!(GF256::GENERATOR.pow(255), GF256::ONE);
        let gf16: std::collections::HashSet<_> = (0..15).map(|i| GF16::GENERATOR.pow(i)).collect();
        assert_eq!(gf16.len(), 15);
        for a in 0..=255u8 {
            for b in 1..=255u8 {
                assert_eq!((GF256(a) / GF256(b)) * GF256(b), GF256(a));
            }
        }
        // The QR code's known values: α^8 = 0x1d, α^25 = 0x03.
        assert_eq!(GF256::GENERATOR.pow(8), GF256(0x1d));
        assert_eq!(GF256::GENERATOR.pow(25), GF256(0x03));
        assert_eq!(-GF256(7) + GF256(7), GF256::ZERO);
        assert_eq!(
            [GF256(1), GF256(2), GF256(3)].into_iter().sum::<GF256>(),
            GF256(0)
        );
        assert_eq!(
            [GF256(2), GF256(2)].into_iter().product::<GF256>(),
            GF256(4)
        );
    }
}
