import pytest
from PIL import Image

from search_space import get_architecture, get_space
from search_space.draw import draw_architecture


@pytest.mark.parametrize("name", ["spinenet49", "resnet50_fpn"])
def test_png_and_svg(tmp_path, name):
    png = draw_architecture(get_architecture(name), tmp_path / "a.png")
    with Image.open(png) as im:
        assert im.width > 600 and im.height > 300
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20)) > 10  # something was drawn
    svg = draw_architecture(get_architecture(name), tmp_path / "a.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_sampled_architecture_draws(tmp_path):
    arch = get_space("r23_sp30", block_adjustments=True).sample(3)
    assert draw_architecture(arch, tmp_path / "s.pdf").read_bytes().startswith(b"%PDF")


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown image format '.gif'"):
        draw_architecture(get_architecture("spinenet49"), tmp_path / "a.gif")
