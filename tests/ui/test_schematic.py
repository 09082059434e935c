"""The kit schematic: what it shows for a given telemetry sample, and that it paints."""

import math

import pytest

from app.batch.recipe import KITS
from app.ui import theme
from app.ui.schematic import KitSchematic
from hardware.protocol import VALVES, valve_states

RUNNING = {
    "temp": 36.94,
    "rpm": 1200.0,
    "w_source": 42.0,
    "w_media": 1000.0,
    "w_buffer": 640.4,
    "w_waste": 310.0,
    "w_product": 0.0,
    "w_chamber": 180.0,
    "p1_rate": 60.0,
    "p2_rate": 0.0,
    "valves": 0b000100,  # buffer
    "bubble": 0.0,
    "door": 0.0,
}


def bit(name):
    return 1 << VALVES.index(name)


@pytest.fixture(scope="module", autouse=True)
def bundled_fonts(qapp):
    """The console's own fonts, as the application registers them (layout depends on them)."""
    assert "DejaVu Sans" in theme.load_fonts()


@pytest.fixture
def schematic(qtbot):
    widget = KitSchematic()
    qtbot.addWidget(widget)
    widget.resize(900, 420)
    return widget


def overlaps(a, b):
    return a.intersected(b).width() > 0.5 and a.intersected(b).height() > 0.5


# --------------------------------------------------------------------------- valves


def test_valve_states_follow_the_protocol_bit_order():
    assert valve_states(0) == dict.fromkeys(VALVES, False)
    assert valve_states(1) == {**dict.fromkeys(VALVES, False), "source": True}
    assert valve_states(0b100100) == {**dict.fromkeys(VALVES, False), "buffer": True, "feed": True}
    assert valve_states(0b111111) == dict.fromkeys(VALVES, True)
    assert valve_states(1 << 6) == dict.fromkeys(VALVES, False)  # no seventh valve


def test_every_valve_is_shown_open_or_closed(schematic):
    for name in VALVES:
        schematic.set_values({"valves": float(bit(name))})  # telemetry values are floats
        shown = schematic.describe()
        assert shown[f"valve.{name}"] == "open"
        assert [n for n in VALVES if shown[f"valve.{n}"] == "open"] == [name]
    schematic.set_values({"valves": 0.0})
    assert all(schematic.describe()[f"valve.{n}"] == "closed" for n in VALVES)


# --------------------------------------------------------------------------- pumps


def test_pump_running_forward_reverse_and_stopped(schematic):
    schematic.set_values(RUNNING)
    shown = schematic.describe()
    assert shown["pump1"] == "running 60 mL/min forward"
    assert shown["pump2"] == "stopped"
    schematic.set_values({"p1_rate": -45.0, "p2_rate": 12.5})
    shown = schematic.describe()
    assert shown["pump1"] == "running 45 mL/min reverse"
    assert shown["pump2"] == "running 12.5 mL/min forward"
    schematic.set_values({"p1_rate": 0.0, "p2_rate": -0.01})  # below the channel's resolution
    shown = schematic.describe()
    assert shown["pump1"] == "stopped"
    assert shown["pump2"] == "stopped"


def test_pump_rate_and_stopped_are_written_on_the_picture(schematic):
    schematic.set_values({**RUNNING, "p1_rate": -60.0})
    schematic.grab()
    texts = [text for text, _ in schematic.text_boxes()]
    assert "60 mL/min" in texts  # the magnitude; the arrow shows the direction
    assert "stopped" in texts  # pump 2
    assert "-60 mL/min" not in texts


# --------------------------------------------------------------------------- bags, chamber


def test_bag_weights_and_levels(schematic):
    schematic.set_values(RUNNING)
    shown = schematic.describe()
    assert shown["bag.media"] == "1000 g"
    assert shown["bag.buffer"] == "640 g"
    assert shown["bag.product"] == "0 g"
    assert shown["bag.media.level"] == "50 %"  # of 2000 mL in CART-STD
    assert schematic.level("buffer") == pytest.approx(0.6404)
    assert shown["chamber"] == "36.9 °C, 1200 rpm"
    assert shown["chamber.weight"] == "180 g"
    assert schematic.level("chamber") == pytest.approx(180 / 500)


def test_levels_are_clamped_and_odd_readings_do_not_break_it(schematic):
    schematic.set_values({"w_source": 450.0, "w_waste": -3.2, "w_media": math.nan})
    assert schematic.level("source") == 1.0  # over capacity: drawn full, number says more
    assert schematic.describe()["bag.source"] == "450 g"
    assert schematic.level("waste") == 0.0
    assert schematic.describe()["bag.waste"] == "-3 g"
    assert schematic.level("media") is None
    assert schematic.describe()["bag.media"] == "—"
    schematic.grab()


def test_rotor_stopped_and_no_data_yet(schematic):
    shown = schematic.describe()
    assert shown["status"] == "no data"
    assert shown["pump1"] == "—"
    assert shown["valve.feed"] == "—"
    assert shown["chamber"] == "—, —"
    schematic.grab()  # paints with nothing known
    schematic.set_values({"temp": 37.0, "rpm": 0.4})
    assert schematic.describe()["chamber"] == "37.0 °C, stopped"


def test_capacities_of_another_kit(schematic):
    kit = KITS["WASH-MINI"]  # no media bag
    schematic.set_capacities(kit.bags, kit.chamber)
    schematic.set_values(RUNNING)
    shown = schematic.describe()
    assert shown["bag.media"] == "not in kit"
    assert shown["bag.product"] == "0 g"
    assert schematic.level("waste") == pytest.approx(310 / 2000)
    assert schematic.level("chamber") == pytest.approx(180 / 300)
    schematic.grab()
    assert "no bag" in [text for text, _ in schematic.text_boxes()]
    with pytest.raises(ValueError):
        schematic.set_capacities({"plasma": 100.0}, 500.0)
    with pytest.raises(ValueError):
        schematic.set_capacities({"source": 0.0}, 500.0)


def test_door_and_bubble_are_written_out(schematic):
    schematic.set_values({**RUNNING, "door": 1.0, "bubble": 1.0})
    shown = schematic.describe()
    assert shown["door"] == "OPEN"
    assert shown["bubble"] == "DETECTED"
    schematic.grab()
    texts = " ".join(text for text, _ in schematic.text_boxes())
    assert "DOOR OPEN" in texts
    assert "BUBBLE" in texts
    assert "Door open." in schematic.accessibleDescription()


# --------------------------------------------------------------------------- stale, a11y


def test_stale_keeps_the_values_and_says_they_are_last_known(schematic):
    schematic.set_values(RUNNING)
    schematic.set_stale(True)
    shown = schematic.describe()
    assert shown["status"] == "last known values (link lost)"
    assert shown["pump1"] == "running 60 mL/min forward"  # last known, not erased
    assert schematic.stale
    assert schematic.accessibleDescription().startswith("Link lost: last known values.")
    schematic.grab()
    assert any("LAST KNOWN" in text for text, _ in schematic.text_boxes())
    schematic.set_stale(False)
    assert schematic.describe()["status"] == "live"
    schematic.grab()
    assert not any("LAST KNOWN" in text for text, _ in schematic.text_boxes())


def test_stale_picture_differs_from_live(schematic):
    schematic.set_values(RUNNING)
    live = schematic.grab().toImage()
    schematic.set_stale(True)
    stale = schematic.grab().toImage()
    assert live != stale


def test_accessible_description_follows_the_values(schematic):
    assert schematic.accessibleName() == "Kit schematic"
    schematic.set_values(RUNNING)
    text = schematic.accessibleDescription()
    assert "Pump 1 running 60 mL/min forward" in text
    assert "buffer open" in text
    assert "Media 1000 g" in text


# --------------------------------------------------------------------------- painting


@pytest.mark.parametrize("size", [(640, 360), (900, 420), (1024, 600), (1920, 1080), (1200, 360)])
@pytest.mark.parametrize("stale", [False, True])
def test_paints_at_small_and_large_sizes_with_text_inside_and_apart(schematic, size, stale):
    worst = {
        **RUNNING,
        "w_media": 1999.6,
        "w_waste": 2999.0,
        "w_chamber": 499.0,
        "p1_rate": -199.5,
        "p2_rate": 199.5,
        "rpm": 3000.0,
        "valves": 0b111111,
        "door": 1.0,
        "bubble": 1.0,
    }
    schematic.set_values(worst)
    schematic.set_stale(stale)
    schematic.resize(*size)
    pixmap = schematic.grab()
    assert (pixmap.width(), pixmap.height()) == size
    boxes = schematic.text_boxes()
    assert len(boxes) >= 20
    area = schematic.rect().toRectF()
    for text, box in boxes:
        assert area.contains(box), f"{text!r} leaves the widget at {size}"
    for i, (text_a, a) in enumerate(boxes):
        for text_b, b in boxes[i + 1 :]:
            assert not overlaps(a, b), f"{text_a!r} overlaps {text_b!r} at {size}"
    symbols = schematic.symbol_boxes()
    assert len(symbols) == 5 + 6 + 2 + 1  # bags, valves, pumps, chamber
    for text, box in boxes:
        for symbol in symbols:
            assert not overlaps(box, symbol), f"{text!r} is drawn over a symbol at {size}"
    for symbol in symbols:
        assert area.contains(symbol)


def test_minimum_size(schematic):
    assert schematic.minimumSize().width() >= 640
    assert schematic.minimumSize().height() >= 360
    schematic.resize(100, 100)  # the minimum size wins
    assert schematic.grab().width() >= 640


@pytest.mark.parametrize("size", [(440, 360), (460, 520), (560, 300)])
def test_squeezed_below_its_minimum_it_shrinks_as_a_whole(schematic, size, caplog):
    """A parent layout may override the minimum size: the picture then shrinks as one
    (with a warning in the log) instead of piling texts on each other."""
    schematic.set_values({**RUNNING, "w_waste": 2999.0, "p1_rate": -199.5, "door": 1.0})
    schematic.setMinimumSize(200, 200)
    schematic.resize(*size)
    schematic.grab()
    area = schematic.rect().toRectF()
    boxes = schematic.text_boxes()
    for text, box in boxes:
        assert area.contains(box), f"{text!r} leaves the widget at {size}"
    for i, (text_a, a) in enumerate(boxes):
        for text_b, b in boxes[i + 1 :]:
            assert not overlaps(a, b), f"{text_a!r} overlaps {text_b!r} at {size}"
    assert "squeezed" in caplog.text
