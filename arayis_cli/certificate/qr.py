"""The certificate's QR code: segno's symbol, encoded faster for the usual content.

``segno.make(content, error="m", micro=False, mask=0)`` spends ≈ 2.5 ms on a verification
address (≈ 170 characters, version 10): placing each bit, masking each module and the
Reed–Solomon division in Python loops. For content segno writes in byte mode (printable
ASCII that is not all digits or all upper-case QR alphanumerics), :func:`matrix` builds the
very same symbol (tests/unit/test_qr.py compares it with segno's, module for module) from
parts computed once per version and error level: the function patterns with the format
and version information, the order in which data bits fill the symbol, and mask 0 over
them. Per symbol it is left to write the codewords, divide each block (a table of the
generator's multiples, on integers) and scatter the bits in one gather. segno still
chooses the version and the error level (it raises M when the same version allows).
Anything else goes to segno itself.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import cache
from typing import Any

ERROR = "m"
MASK = 0


def matrix(content: str) -> tuple[bytes | bytearray, ...]:
    """The QR symbol of ``content`` (error level M, possibly raised, mask 0), one row of
    0/1 modules per item, the same as ``segno.make(content, error="m", micro=False,
    mask=0).matrix``."""
    import segno

    if content.isascii() and content.isprintable() and not _ALPHANUMERIC.issuperset(content):
        chosen = _version_and_level(len(content))
        if chosen is not None:
            return _encode(content.encode("ascii"), *chosen)
    return segno.make(content, error=ERROR, micro=False, mask=MASK).matrix


#: The characters of QR's alphanumeric mode: content of only these (or of digits) is not
#: written in byte mode.
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def _version_and_level(length: int) -> tuple[int, int] | None:
    """segno's choice for ``length`` bytes in byte mode: the smallest version holding them
    at level M, then the highest level the same version still holds (Q, H)."""
    from segno import consts

    levels = (consts.ERROR_LEVEL_M, consts.ERROR_LEVEL_Q, consts.ERROR_LEVEL_H)
    for version in range(1, 41):
        bits = 4 + (8 if version < 10 else 16) + 8 * length
        if consts.SYMBOL_CAPACITY[version][levels[0]] >= bits:
            level = levels[0]
            for higher in levels[1:]:
                if consts.SYMBOL_CAPACITY[version][higher] < bits:
                    break
                level = higher
            return version, level
    return None  # too long: segno says so


#: The bits of each byte value, as 0/1 bytes.
_BITS = tuple(bytes((b >> i) & 1 for i in range(7, -1, -1)) for b in range(256))


def _encode(data: bytes, version: int, level: int) -> tuple[bytes, ...]:
    from segno import consts

    shape = _shape(version, level)
    count_bits = 8 if version < 10 else 16
    # Mode indicator (byte: 0100), character count, the data.
    value = (((0b0100 << count_bits) | len(data)) << (8 * len(data))) | int.from_bytes(data)
    length = 4 + count_bits + 8 * len(data)
    capacity = consts.SYMBOL_CAPACITY[version][level]
    pad = min(capacity - length, 4)  # the terminator
    pad += 8 - ((length + pad) % 8)  # to a whole codeword (segno: a full one when aligned)
    value <<= pad
    length += pad
    words = bytearray(value.to_bytes(length // 8))
    for i in range(capacity // 8 - length // 8):
        words.append(0xEC if i % 2 == 0 else 0x11)
    words = words[: shape.data_words]
    # Blocks, their error correction words, both interleaved.
    data_blocks: list[bytes] = []
    error_blocks: list[bytes] = []
    start = 0
    for size, divisor in shape.blocks:
        block = bytes(words[start : start + size])
        start += size
        data_blocks.append(block)
        error_blocks.append(divisor.remainder(block))
    message = _interleave(data_blocks) + _interleave(error_blocks)
    bits = b"".join(map(_BITS.__getitem__, message)) + b"\0" * shape.remainder_bits
    # The data bits under mask 0 (0/1 bytes: XOR on integers keeps them 0/1).
    masked = (int.from_bytes(bits) ^ shape.mask).to_bytes(len(bits))
    flat = bytes(shape.gather(shape.base + masked))
    width = shape.width
    return tuple(flat[r * width : (r + 1) * width] for r in range(width))


def _interleave(blocks: list[bytes]) -> bytes:
    """The i-th byte of every block, for i = 0, 1, …: the columns every block has, by
    slices; then the longer blocks' further bytes, column by column (any lengths; a
    symbol's blocks differ by one at most, so that is one column)."""
    count, short = len(blocks), min(len(b) for b in blocks)
    out = bytearray(count * short)
    for j, block in enumerate(blocks):
        out[j::count] = block[:short]
    for i in range(short, max(len(b) for b in blocks)):
        out.extend(b[i] for b in blocks if i < len(b))
    return bytes(out)


@dataclass(frozen=True)
class _Divisor:
    """Reed–Solomon remainder by one generator polynomial, as segno divides."""

    words: int
    #: For each leading coefficient, the generator times it, as an integer of ``words`` bytes.
    multiples: tuple[int, ...]

    def remainder(self, block: bytes) -> bytes:
        shift = 8 * (self.words - 1)
        keep = (1 << (8 * self.words)) - 1
        multiples = self.multiples
        rest = 0
        for byte in block:
            lead = (rest >> shift) ^ byte
            rest = ((rest << 8) & keep) ^ multiples[lead]
        return rest.to_bytes(self.words)


@cache
def _divisor(words: int) -> _Divisor:
    from segno import consts

    gen = consts.GEN_POLY[words]
    log, exp = consts.GALIOS_LOG, consts.GALIOS_EXP
    multiples = [0]
    for coef in range(1, 256):
        row = bytes(exp[log[coef] + gen[n]] for n in range(words))
        multiples.append(int.from_bytes(row))
    return _Divisor(words, tuple(multiples))


@dataclass(frozen=True)
class _Shape:
    width: int
    data_words: int
    blocks: tuple[tuple[int, _Divisor], ...]
    remainder_bits: int
    #: The symbol's function patterns, format and version information, row after row.
    base: bytes
    #: Mask 0 over the data modules, in the order data bits fill them, as an integer.
    mask: int
    #: Picks the symbol, row after row, from ``base`` followed by the masked data bits.
    gather: Any


@cache
def _shape(version: int, level: int) -> _Shape:
    """What every symbol of this version and error level shares (computed once)."""
    from segno import consts, encoder

    width = encoder.calc_matrix_size(version)
    grid = encoder.make_matrix(width, width)
    encoder.add_finder_patterns(grid, width, width)
    encoder.add_alignment_patterns(grid, width, width)
    order = _placement(grid, width)
    data_cells = set(order)
    base = tuple(bytearray(row) for row in grid)
    for i, j in order:
        base[i][j] = 0
    encoder.add_format_info(base, version, level, MASK)
    encoder.add_version_info(base, version)
    flat = b"".join(bytes(row) for row in base)
    position = {cell: k for k, cell in enumerate(order)}
    picks = [
        len(flat) + position[(i, j)] if (i, j) in data_cells else i * width + j
        for i in range(width)
        for j in range(width)
    ]
    mask_bits = bytes(1 if (i + j) % 2 == 0 else 0 for i, j in order)
    blocks = []
    data_words = 0
    for info in consts.ECC[version][level]:
        divisor = _divisor(info.num_total - info.num_data)
        blocks.extend((info.num_data, divisor) for _ in range(info.num_blocks))
        data_words += info.num_data * info.num_blocks
    total_words = sum(info.num_total * info.num_blocks for info in consts.ECC[version][level])
    return _Shape(
        width=width,
        data_words=data_words,
        blocks=tuple(blocks),
        remainder_bits=len(order) - 8 * total_words,
        base=flat,
        mask=int.from_bytes(mask_bits),
        gather=operator.itemgetter(*picks),
    )


def _placement(grid: Any, size: int) -> list[tuple[int, int]]:
    """The data modules in the order bits fill them (ISO/IEC 18004 7.7.3): two-module
    columns from the right, alternately upwards and downwards, skipping the timing column
    and every module already taken (the same walk as segno's ``add_codewords``)."""
    order = []
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        for vertical in range(size):
            for z in range(2):
                j = right - z
                upwards = (right & 2) == 0
                upwards ^= j < 6
                i = (size - 1 - vertical) if upwards else vertical
                if grid[i][j] == 0x2:
                    order.append((i, j))
    return order
