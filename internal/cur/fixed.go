package cur

import (
	"fmt"
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// fixedScale is the number of decimal places of the fast accumulator: CUR
// writes at most 10 places, the Athena/Parquet doubles and some generated
// reports carry up to 17-18, so 18 keeps every one of them exact while a
// 128-bit integer still holds sums up to about 1.7e20 dollars.
const fixedScale = 18

// pow10 holds 10^0..10^19, the factors used to align a parsed fraction.
var pow10 = [20]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// money is an exact sum of costs: a 128-bit two's complement integer in units
// of 10^-18, plus a decimal used only for the rare values the fast path cannot
// hold (exponent notation, more than 18 places, overflow).
type money struct {
	hi   int64
	lo   uint64
	slow decimal.Decimal
	used bool // slow is non-zero or was touched; avoids decimal math otherwise
}

// add128 adds b to a and reports whether the signed sum overflowed.
func add128(ahi int64, alo uint64, bhi int64, blo uint64) (int64, uint64, bool) {
	lo, c := bits.Add64(alo, blo, 0)
	hi := ahi + bhi + int64(c)
	// Overflow when both operands have the same sign and the result differs.
	overflow := (ahi >= 0) == (bhi >= 0) && (hi >= 0) != (ahi >= 0)
	return hi, lo, overflow
}

// addFixed adds a value already scaled to 10^-18.
func (m *money) addFixed(hi int64, lo uint64) {
	nhi, nlo, of := add128(m.hi, m.lo, hi, lo)
	if of {
		// Spill the accumulator into the decimal and start again from the value.
		m.slow = m.slow.Add(fixedToDecimal(m.hi, m.lo))
		m.used = true
		m.hi, m.lo = hi, lo
		return
	}
	m.hi, m.lo = nhi, nlo
}

// addMoney merges another sum into m.
func (m *money) addMoney(o *money) {
	m.addFixed(o.hi, o.lo)
	if o.used {
		m.slow = m.slow.Add(o.slow)
		m.used = true
	}
}

// decimal returns the exact sum.
func (m *money) decimal() decimal.Decimal {
	d := fixedToDecimal(m.hi, m.lo)
	if m.used {
		d = d.Add(m.slow)
	}
	return d
}

// fixedToDecimal converts a 128-bit value in units of 10^-18 to a decimal.
func fixedToDecimal(hi int64, lo uint64) decimal.Decimal {
	neg := hi < 0
	uhi, ulo := uint64(hi), lo
	if neg {
		// Two's complement negation over 128 bits.
		ulo = ^ulo + 1
		uhi = ^uhi
		if ulo == 0 {
			uhi++
		}
	}
	n := new(big.Int).SetUint64(uhi)
	n.Lsh(n, 64)
	n.Or(n, new(big.Int).SetUint64(ulo))
	if neg {
		n.Neg(n)
	}
	return decimal.NewFromBigInt(n, -fixedScale)
}

// addText parses a decimal number as written in a CUR file and adds it
// exactly. An empty field counts as zero (AWS leaves costs of some line item
// types blank).
func (m *money) addText(b []byte) error {
	hi, lo, ok := parseFixed(b)
	if ok {
		m.addFixed(hi, lo)
		return nil
	}
	if len(b) == 0 {
		return nil
	}
	// Exponents, more than 18 places or huge integers: exact but slower.
	d, err := decimal.NewFromString(string(b))
	if err != nil {
		return fmt.Errorf("bad number %q", truncateForError(b))
	}
	m.slow = m.slow.Add(d)
	m.used = true
	return nil
}

// parseFixed parses [+-]digits[.digits] into units of 10^-18. ok is false
// when the text is not of that plain form or does not fit exactly; the caller
// then takes the slow path, which also reports malformed numbers.
func parseFixed(b []byte) (hi int64, lo uint64, ok bool) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	intStart := i
	var ip uint64
	nd := 0
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		if nd == 19 {
			return 0, 0, false // may not fit in 64 bits
		}
		ip = ip*10 + uint64(c)
		if ip != 0 {
			nd++
		}
	}
	digits := i - intStart
	var fp uint64
	nf := 0
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				return 0, 0, false
			}
			if nf == fixedScale {
				if c != 0 {
					return 0, 0, false // beyond 18 places: not representable
				}
				continue
			}
			fp = fp*10 + uint64(c)
			nf++
			digits++
		}
	}
	if i != len(b) || digits == 0 {
		return 0, 0, false
	}
	fp *= pow10[fixedScale-nf]
	h, l := bits.Mul64(ip, pow10[fixedScale])
	l, c := bits.Add64(l, fp, 0)
	h += c
	if h>>63 != 0 {
		return 0, 0, false
	}
	hi, lo = int64(h), l
	if neg {
		lo = ^lo + 1
		hi = ^hi
		if lo == 0 {
			hi++
		}
	}
	return hi, lo, true
}

// truncateForError keeps error messages short when a field is huge.
func truncateForError(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
