"""`spinenas show`: an architecture's stem and blocks, params and FLOPs (with or without the head), as
a table or JSON, and its diagram."""

from __future__ import annotations

import json

from nas.settings.commands import ShowOptions
from search_space.catalog import get_preset, preset_for, preset_name_for, resolve_architecture
from search_space.errors import InputError
from search_space.spec import Architecture


def show(args: ShowOptions) -> int:
    """`spinenas show`: the architecture as a table or JSON, with params and FLOPs; draws it with --draw."""
    arch = resolve_architecture(args.arch)
    preset = get_preset(args.preset) if args.preset else preset_for(args.arch)
    size = args.image_size or preset.image_size
    if size <= 0 or size % 128:
        raise InputError(f"--image-size {size} must be a positive multiple of 128")
    if args.num_classes < 1:
        raise InputError(f"--num-classes must be >= 1, got {args.num_classes}")
    from search_space.cost import measure  # torch: after the input is checked

    cost = measure(arch, preset, size, with_head=args.with_head, num_classes=args.num_classes)
    if args.draw:
        from search_space.draw import draw_architecture

        draw_architecture(arch, args.draw)
    if args.json:
        print(json.dumps(show_record(arch, preset_name(args), cost.params, cost.flops, size, args.with_head)))
    else:
        print(format_table(arch))
        scope = "backbone + RetinaNet head" if args.with_head else "backbone"
        print(f"\npreset {preset_name(args)}  image {size}x{size}  {scope}")
        print(f"params {cost.params / 1e6:.2f}M   FLOPs {cost.flops / 1e9:.2f}B (multiply-adds)")
        if args.draw:
            print(f"diagram written to {args.draw}")
    return 0


def preset_name(args: ShowOptions) -> str:
    return args.preset or preset_name_for(args.arch)


def show_record(arch: Architecture, preset: str, params: int, flops: int, size: int, with_head: bool) -> dict:
    """The JSON object `spinenas show --json` prints."""
    d = arch.to_dict()
    return {
        "name": arch.name,
        "id": arch.id,
        "preset": preset,
        "params": params,
        "flops": flops,
        "image_size": size,
        "with_head": with_head,
        "decoder": arch.decoder,
        "stem": d["stem"],
        "blocks": d["blocks"],
    }


def format_table(arch: Architecture) -> str:
    """A readable table of an architecture's stem and blocks."""
    lines = [f"{arch.name}  (id {arch.id}, decoder {arch.decoder})", ""]
    lines.append(f"{'node':>4}  {'kind':<6} {'level':>5}  {'type':<10} {'parents':<9} {'output':<6} folds")
    for j, g in enumerate(arch.stem):
        lines.append(f"{j:>4}  {'stem':<6} {'L' + str(g.level):>5}  {g.block_fn:<10} {'':<9} {'':<6} x{g.repeats}")
    folds = arch.output_folds()
    for i, b in enumerate(arch.blocks):
        node = arch.num_stem + i
        parents = f"{b.parents[0]},{b.parents[1]}"
        out = f"P{b.level}" if b.is_output else ""
        fold = ",".join(map(str, folds[i]))
        lines.append(f"{node:>4}  {'block':<6} {'L' + str(b.level):>5}  {b.block_fn:<10} {parents:<9} {out:<6} {fold}")
    if arch.decoder == "fpn":
        lines.append("      FPN on C3..C5 -> P3..P7")
    return "\n".join(lines)
