"""Per-layer figures of fused blocks: a fused block's work is measured inside its conv's layer markers, so that layer
must carry the block's MACs (else MACs per cycle there would be the conv's alone and the others' infinite)."""

from __future__ import annotations

from mcukit.codegen.fusion import ConvAdd
from mcukit.measure.bench import _merge_fused


def _layers(macs: list[int]) -> list[dict]:
    return [{"index": i, "op": "CONV_2D", "name": f"l{i}", "macs": m} for i, m in enumerate(macs)]


def test_streamed_block_moves_its_macs_to_the_conv_layer() -> None:
    layers = _layers([10, 100, 200, 0, 50])
    _merge_fused(layers, [ConvAdd(conv=2, add=3, conv_out=9, conv_pos=0, tile=4, mode="pad", pre=1)])
    assert [x["macs"] for x in layers] == [10, 0, 300, 0, 50]
    assert sum(x["macs"] for x in layers) == 360
    assert layers[1]["fused_into"] == 2 and layers[3]["fused_into"] == 2 and "fused_into" not in layers[2]
    assert layers[1]["name"] == "in #2: l1"


def test_conv_add_pair_without_a_streamed_conv() -> None:
    layers = _layers([7, 0])
    _merge_fused(layers, [ConvAdd(conv=0, add=1, conv_out=5, conv_pos=1, tile=2, mode="ptr")])
    assert [x["macs"] for x in layers] == [7, 0] and layers[1]["fused_into"] == 0
