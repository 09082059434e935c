"""Recipe files: the shipped ones validate; malformed ones are refused with a message
that names the file, the line and the field."""

from pathlib import Path

import pytest

from app.batch.recipe import RecipeError, load_recipe, load_recipe_file

RECIPES = sorted(Path(__file__).parents[2].joinpath("resources", "recipes").glob("*.toml"))

GOOD = (Path(__file__).parents[2] / "resources" / "recipes" / "demo.toml").read_text()


def test_the_four_shipped_recipes_validate():
    names = {load_recipe_file(path).name for path in RECIPES}
    assert {"Demo", "CAR-T 10-day", "Wash and concentrate", "Media exchange"} <= names


def test_parameters_resolve_with_units_and_ranges():
    recipe = load_recipe(GOOD, "demo.toml")
    steps = recipe.resolve({"load_volume": 60.0})
    load = steps[2]
    assert load["volume"] == 60.0 and load["rate"] == 60.0 and load["from"] == "source"
    assert steps[4]["duration"] == 300.0  # "5 min" in seconds
    with pytest.raises(ValueError, match=r"500 mL is outside 50\.\.100 mL"):
        recipe.resolve({"load_volume": 500.0})


def test_content_hash_follows_the_text():
    a = load_recipe(GOOD, "demo.toml")
    b = load_recipe(GOOD.replace("Confirm kit", "Check kit"), "demo.toml")
    assert a.content_hash != b.content_hash and len(a.content_hash) == 64


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


MALFORMED = [
    # (what is wrong, change to the good recipe, field named, words in the message)
    ("unknown phase", ('phase = "wait"', 'phase = "levitate"'), "steps[5].phase", "unknown phase"),
    ("wrong unit", ('duration = "5 min"', 'duration = "5 mL"'), "steps[5].duration", "wrong unit"),
    ("no unit", ('duration = "5 min"', "duration = 5"), "steps[5].duration", "with its unit"),
    (
        "out of range",
        (
            'rate = "60 mL/min"\n\n[[steps]]\nname = "Load',
            'rate = "900 mL/min"\n\n[[steps]]\nname = "Load',
        ),
        "steps[2].rate",
        "outside",
    ),
    (
        "unknown parameter",
        ('volume = "$load_volume"', 'volume = "$loadvolume"'),
        "steps[3].volume",
        "does not define",
    ),
    ("missing argument", ("repeats = 1\n", ""), "steps[6].repeats", "required"),
    (
        "unknown argument",
        ("repeats = 1\n", 'repeats = 1\ncolour = "blue"\n'),
        "steps[6].colour",
        "takes no",
    ),
    ("bag the kit lacks", ('to = "chamber"', 'to = "freezer"'), "steps[3].to", "no bag"),
    (
        "impossible volume",
        (
            'volume = "45 mL"\nrate = "60 mL/min"\n\n[[steps]]\nname = "Sign',
            'volume = "260 mL"\nrate = "60 mL/min"\n\n[[steps]]\nname = "Sign',
        ),
        "steps[7]",
        "impossible volume",
    ),
    (
        "volume impossible at a parameter's low end",
        (
            'volume = "45 mL"\nrate = "60 mL/min"\n\n[[steps]]\nname = "Sign',
            'volume = "60 mL"\nrate = "60 mL/min"\n\n[[steps]]\nname = "Sign',
        ),
        "steps[7]",
        "hold only 50 mL",
    ),
    ("kit type not text", ('type = "CART-STD"', 'type = ["CART-STD"]'), "kit.type", "unknown kit"),
    (
        "unit not text",
        ('unit = "mL"', 'unit = ["mL"]'),
        "parameters.load_volume.unit",
        "unknown unit",
    ),
    ("overfilled bag", ('source = "100 mL"', 'source = "900 mL"'), "kit.source", "does not fit"),
    ("unknown kit", ('type = "CART-STD"', 'type = "CART-XL"'), "kit.type", "unknown kit"),
    ("missing header", ('author = "CellDeck"\n', ""), "recipe.author", "missing"),
    (
        "parameter default out of range",
        ("default = 80", "default = 180"),
        "parameters.load_volume.default",
        "outside",
    ),
    ("parameter missing max", ("max = 100\n", ""), "parameters.load_volume", "missing max"),
    ("parameter unit mismatch", ('unit = "mL"', 'unit = "min"'), "steps[3].volume", "not a volume"),
    ("bad choice", ('response = "confirm"', 'response = "maybe"'), "steps[1].response", "one of"),
    (
        "unknown role",
        ('changeable_by = ["operator", "supervisor"]', 'changeable_by = ["janitor"]'),
        "parameters.load_volume.changeable_by",
        "roles",
    ),
    ("integer expected", ("repeats = 1", "repeats = 1.5"), "steps[6].repeats", "integer"),
    ("alarm limit unit", ('limit = "250 mbar"', 'limit = "250 mL"'), "alarms[1].limit", "mbar"),
    ("alarm kind", ('kind = "high"', 'kind = "sideways"'), "alarms[1].kind", "unknown kind"),
    ("alarm channel", ('channel = "pressure"', 'channel = "mood"'), "alarms[1].channel", "unknown"),
    ("alarm priority", ('priority = "high"', 'priority = "urgent"'), "alarms[1].priority", "needs"),
    (
        "alarm without response",
        ('response = "The batch is held.', 'responsee = "The batch is held.'),
        "alarms[1].response",
        "operator response",
    ),
    (
        "deviation without set-point",
        ('setpoint = "temp_sp"\n', ""),
        "alarms[2].setpoint",
        "set-point channel",
    ),
    (
        "reserved alarm tag",
        ('tag = "TEMP_DEVIATION"', 'tag = "CHAMBER_OVERTEMP"'),
        "alarms[2].tag",
        "the console's own alarm",
    ),
    ("alarm hold flag", ("hold = true", 'hold = "yes"'), "alarms[1].hold", "true or false"),
    (
        "outcome range reversed",
        ('product_volume = ["43 mL", "47 mL"]', 'product_volume = ["47 mL", "43 mL"]'),
        "outcome.product_volume",
        "empty",
    ),
    (
        "outcome unknown",
        ('product_volume = ["43 mL", "47 mL"]', 'product_colour = ["43 mL", "47 mL"]'),
        "outcome.product_colour",
        "unknown outcome",
    ),
    ("product bag filled", ('buffer = "500 mL"', 'product = "500 mL"'), "kit.product", "empty"),
]


@pytest.mark.parametrize("what, change, field, words", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_recipe_is_refused_naming_the_field(what, change, field, words):
    old, new = change
    assert old in GOOD, what
    text = GOOD.replace(old, new, 1)
    with pytest.raises(RecipeError) as info:
        load_recipe(text, "broken.toml")
    problems = [p for p in info.value.problems if p.field == field]
    assert problems, f"{what}: got {info.value}"
    assert words in problems[0].message, str(problems[0])
    assert str(problems[0]).startswith("broken.toml:")
    assert problems[0].line > 0


def test_syntax_error_names_the_line():
    with pytest.raises(RecipeError) as info:
        load_recipe(GOOD.replace('name = "Demo"', 'name = "Demo'), "broken.toml")
    assert info.value.problems[0].line == line_of(GOOD, 'name = "Demo"')
    assert "not valid TOML" in str(info.value)


def test_error_line_points_at_the_field():
    text = GOOD.replace('duration = "5 min"', 'duration = "5 mL"')
    with pytest.raises(RecipeError) as info:
        load_recipe(text, "broken.toml")
    assert info.value.problems[0].line == line_of(text, 'duration = "5 mL"')


def test_steps_that_are_not_tables_are_refused_not_crashed():
    with pytest.raises(RecipeError, match="must be a"):
        load_recipe("steps = [1]\n" + GOOD.split("[[steps]]")[0], "broken.toml")


def test_a_phase_needing_a_bag_the_kit_lacks_is_refused():
    text = GOOD.replace(
        'type = "CART-STD"\nsource = "100 mL"\nmedia = "1000 mL"\n',
        'type = "WASH-MINI"\nsource = "100 mL"\n',
    )
    text = text.replace(
        'phase = "wait"\nduration = "5 min"', 'phase = "feed"\nvolume = "5 mL"\nrate = "10 mL/min"'
    )
    with pytest.raises(RecipeError) as info:
        load_recipe(text, "broken.toml")
    problem = next(p for p in info.value.problems if p.field == "steps[5]")
    assert "needs the media bag" in problem.message and problem.line > 0


@pytest.mark.parametrize(
    "old, new, field, words",
    [
        ("data_low = 0.0", "data_low = nan", "steps[4].data_low", "finite"),
        ("data_low = 0.0", "data_low = 500.0", "steps[4].data_low", "above data_high"),
        ("data_low = 0.0", "data_low = " + "9" * 400, "steps[4].data_low", "finite"),
        ("max = 100", "max = " + "9" * 400, "parameters.load_volume.max", "finite"),
    ],
)
def test_numbers_must_be_finite_and_ordered(old, new, field, words):
    with pytest.raises(RecipeError) as info:
        load_recipe(GOOD.replace(old, new, 1), "broken.toml")
    assert any(p.field == field and words in p.message for p in info.value.problems), str(
        info.value
    )


def test_hold_until_needs_a_known_channel():
    text = GOOD.replace(
        'phase = "wait"\nduration = "5 min"',
        'phase = "hold_until"\nchannel = "tempp"\ncondition = "above"\n'
        'value = 36.5\ntimeout = "1 h"',
    )
    with pytest.raises(RecipeError, match="unknown channel 'tempp'"):
        load_recipe(text, "broken.toml")


def test_an_alarm_active_in_some_phases_is_suppressed_in_all_the_others():
    cart = (Path(__file__).parents[2] / "resources" / "recipes" / "cart_10day.toml").read_text()
    old = 'suppressed_in = ["transfer", "wash", "harvest", "formulate"]\nresponse = "Dis'
    assert old in cart
    recipe = load_recipe(cart.replace(old, 'active_in = ["culture"]\nresponse = "Dis'))
    do_low = next(a for a in recipe.alarms if a.tag == "DO_LOW")
    assert "culture" not in do_low.suppressed_in and "transfer" in do_low.suppressed_in
    with pytest.raises(RecipeError, match="active_in or suppressed_in"):
        load_recipe(
            cart.replace(old, old.replace("\nresponse", '\nactive_in = ["culture"]\nresponse'))
        )
