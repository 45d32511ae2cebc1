"""The texts calibration retells by default: three short factual texts of different kinds, each
with checkable facts (a user can give others with --sources, a YAML list of `source:` blocks)."""

from __future__ import annotations

from service.experiment.spec import Fact, Source

LIGHTHOUSE = Source(
    text=(
        "The Bell Rock Lighthouse stands on a reef eleven miles off the coast of Angus in "
        "Scotland. Robert Stevenson designed it, and construction began in 1807. Workers could "
        "only build at low tide, so each summer they lived on a ship anchored near the rock. "
        "The tower is 35 metres tall and was built from 2,835 blocks of granite and sandstone, "
        "dovetailed together so the sea could not pull them apart. The light was first lit on "
        "1 February 1811. For many years three keepers lived in the tower at a time. In 1915 a "
        "Royal Navy cruiser damaged the lantern during the First World War. The light was "
        "automated in 1988, and it is the oldest sea-washed lighthouse still in use."
    ),
    facts=[
        Fact(name="designer", patterns=["Stevenson"]),
        Fact(name="started_1807", patterns=["1807"]),
        Fact(name="height", patterns=["35 met(re|er)s"]),
        Fact(name="blocks", patterns=["2,?835"]),
        Fact(name="first_lit", patterns=["1811"]),
        Fact(name="keepers", patterns=["three keepers", "3 keepers"]),
        Fact(name="damage_1915", patterns=["1915"]),
        Fact(name="automated_1988", patterns=["1988"]),
        Fact(name="eleven_miles", patterns=["eleven miles", "11 miles"]),
    ],
)

VACCINE = Source(
    text=(
        "In 1796 the English doctor Edward Jenner tested an idea that country people already "
        "held: that milkmaids who caught cowpox did not catch smallpox. He took material from a "
        "cowpox sore on the hand of Sarah Nelmes and scratched it into the arm of James Phipps, "
        "an eight-year-old boy. Six weeks later Jenner exposed the boy to smallpox, and he did "
        "not fall ill. Jenner published his results in 1798, and the word vaccine comes from "
        "vacca, the Latin for cow. Smallpox killed about 400,000 Europeans a year at the time. "
        "After a global campaign led by the World Health Organization, the last natural case "
        "was found in Somalia in 1977, and the disease was declared eradicated in 1980."
    ),
    facts=[
        Fact(name="year_1796", patterns=["1796"]),
        Fact(name="jenner", patterns=["Jenner"]),
        Fact(name="nelmes", patterns=["Nelmes"]),
        Fact(name="phipps", patterns=["Phipps"]),
        Fact(name="age_eight", patterns=["eight-year-old", "8-year-old", "eight years old"]),
        Fact(name="published_1798", patterns=["1798"]),
        Fact(name="vacca", patterns=["vacca"]),
        Fact(name="deaths", patterns=["400,?000"]),
        Fact(name="somalia", patterns=["Somalia"]),
        Fact(name="eradicated_1980", patterns=["1980"]),
    ],
)

MARKET = Source(
    text=(
        "The town of Lindholm holds its market every Saturday on the square in front of the old "
        "grain hall. The market began in 1642, when the king granted the town the right to "
        "trade in cattle and wool. Today about 120 stalls sell cheese, bread, fish and "
        "vegetables, and roughly 6,000 visitors come on a summer morning. The stalls open at "
        "7 o'clock and close at 1 in the afternoon. In 1998 a fire destroyed the roof of the "
        "grain hall, and the market moved to the harbour for two years. The mayor, Karin Holt, "
        "reopened the square in 2000. Since 2015 the market has banned plastic bags, and stall "
        "holders pay a fee of 35 euros a day."
    ),
    facts=[
        Fact(name="saturday", patterns=["Saturday"]),
        Fact(name="founded_1642", patterns=["1642"]),
        Fact(name="stalls_120", patterns=["120"]),
        Fact(name="visitors", patterns=["6,?000"]),
        Fact(name="fire_1998", patterns=["1998"]),
        Fact(name="harbour", patterns=["harbou?r"]),
        Fact(name="mayor", patterns=["Holt"]),
        Fact(name="plastic_2015", patterns=["2015"]),
        Fact(name="fee", patterns=["35 euros"]),
    ],
)

DEFAULT_SOURCES: dict[str, Source] = {
    "lighthouse": LIGHTHOUSE,
    "vaccine": VACCINE,
    "market": MARKET,
}
