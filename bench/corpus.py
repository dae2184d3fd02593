"""Deterministic synthetic news corpus for the scale benchmark.

Each article is a pure function of (seed, index): titles, a byline, 600-1200
words in paragraphs built from template sentences over a vocabulary of
people, companies, places, sectors and numbers. Every article has its own
key facts (company, coined project name, city, amount, jobs, partner, an
executive...) repeated in varied wording among background and distractor
sentences that mention *other* entities, so BM25 and dense retrieval both
have real work to do. Queries paraphrase an article's key facts and know
their source article, so a benchmark can report hit@k.

Files are written one at a time (streamed): the corpus is never held in RAM.

    python bench/corpus.py OUT_DIR --articles 100 [--seed 7] [--queries 50]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FIRST = (
    "Amara Ben Carla Dmitri Elena Farid Grace Hiro Ines Jonas Kavya Liam Mateo Nadia Omar Priya Quentin Rosa "
    "Samuel Tara Umar Vera Wei Ximena Yusuf Zoe Adele Bruno Chiara Dara Emeka Fiona Gustav Hana Ivan Jun Kofi "
    "Lena Marco Noor Olga Pavel Rhea Sven Talia Uri Valentina Wanjiru Yara Anders Beatriz Cormac Divya Esther "
    "Felix Gemma Hugo Isla Jakob Keiko Luca Maren Nikhil Oksana Pilar Rafael Saoirse Tomas Ulla Viktor Wren"
).split()
LAST = (
    "Abernathy Banerjee Castellano Dubois Eriksen Fontaine Gallagher Haddad Ibarra Jankowski Kowalczyk Lindqvist "
    "Moreau Nakamura Okafor Petrov Quint Rasmussen Sandoval Tanaka Ulrich Varga Whitlock Xu Yilmaz Zielinski "
    "Achebe Brennan Cardoso Delacroix Esposito Falk Grimaldi Holloway Iwasaki Jensen Kruger Lombardi Mbeki "
    "Novak Oyelaran Pereira Quaresma Rinaldi Schreiber Thorsen Ueda Vasquez Weiss Yamamoto Zamora Arslan "
    "Bergstrom Chaudhry Demir Everett Ferreira Gunawardena Halvorsen Ivanova Jimenez Kaur Lefebvre Marchetti "
    "Nordin Oduya Pakalen Rautio Sorensen Tremblay Upadhyay Valdez Wojcik Zhao"
).split()
COMPANY_STEM = (
    "Arcadia Borealis Cobalt Delphi Ember Fjord Granite Helix Indigo Juniper Kestrel Lumen Meridian Northwind "
    "Obsidian Pioneer Quartz Redwood Sable Tidewater Umbra Vantage Willow Xenon Yarrow Zenith Atlas Beacon "
    "Cascade Drummond Equinox Falcon Glacier Harbor Ironclad Jasper Keystone Lodestar Monarch Nimbus Orchard "
    "Paragon Quill Riverstone Summit Trident Union Vector Westbrook Aurora Bluewater Crescent Dynamo Evergreen"
).split()
COMPANY_SUFFIX = (
    "Holdings|Energy|Systems|Motors|Pharma|Logistics|Capital|Foods|Networks|Robotics|Materials|Airlines|"
    "Biotech|Semiconductor|Telecom|Insurance|Mining|Retail"
).split("|")
CITIES = (
    "Lisbon|Rotterdam|Nairobi|Osaka|Monterrey|Gdansk|Bilbao|Lyon|Hamburg|Seoul|Austin|Calgary|Perth|Porto|"
    "Valencia|Turin|Krakow|Lagos|Accra|Pune|Chennai|Jakarta|Manila|Hanoi|Santiago|Bogota|Lima|Quito|Denver|"
    "Pittsburgh|Cleveland|Glasgow|Leeds|Cardiff|Dublin|Aarhus|Gothenburg|Tampere|Tallinn|Riga|Vilnius|Brno|"
    "Graz|Basel|Ghent|Utrecht|Marseille|Naples|Seville|Izmir|Haifa|Casablanca|Durban|Adelaide|Auckland|Winnipeg|"
    "Halifax|Tucson|Raleigh|Omaha|Sapporo|Busan|Kaohsiung|Cebu|Surabaya|Mombasa|Kumasi|Rosario|Cordoba|Recife"
).split("|")
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday".split()
MONTHS = "January February March April May June July August September October November December".split()
ROLES = (
    "chief executive|chief financial officer|head of operations|chief technology officer|president|"
    "managing director|head of strategy|chief operating officer|general counsel|head of investor relations"
).split("|")
ANALYST_FIRMS = "Northgate Research|Halden Securities|Crestview Partners|Lowmoor Analytics|Brightwater Advisory".split("|")
SYLLABLES = (
    "vel nor ka tri lum zen ar qua bri sol dex mor tal vio ren xa pol cor nim fen ob sy lor gra hal "
    "ix om ul dra ves cal pra tor ny ke mi ra ze lo vu"
).split()

# sector -> (project kinds, topic nouns, unit noun used with a number)
SECTORS: dict[str, tuple[list[str], list[str], str]] = {
    "energy": (["solar farm", "battery storage plant", "offshore wind array", "hydrogen electrolyser", "grid upgrade"],
               ["electricity prices", "grid capacity", "renewable subsidies", "power purchase agreements", "carbon permits"], "megawatts"),
    "healthcare": (["cancer clinic network", "vaccine plant", "diagnostics lab", "hospital software rollout", "gene therapy trial"],
                   ["patient waiting lists", "drug approvals", "clinical trial costs", "hospital budgets", "insurance reimbursements"], "patients"),
    "transport": (["electric bus fleet", "freight rail terminal", "airport expansion", "port automation scheme", "charging network"],
                  ["fuel costs", "passenger numbers", "freight volumes", "congestion charges", "fleet emissions"], "vehicles"),
    "technology": (["data centre", "chip packaging plant", "cloud region", "cybersecurity platform", "AI research lab"],
                   ["chip shortages", "cloud spending", "data privacy rules", "software licensing", "engineering salaries"], "servers"),
    "agriculture": (["vertical farm", "grain terminal", "irrigation scheme", "fertiliser plant", "seed bank"],
                    ["crop yields", "fertiliser prices", "drought insurance", "export quotas", "soil health"], "hectares"),
    "finance": (["payments platform", "digital bank", "trading hub", "credit scoring service", "pension fund merger"],
                ["interest rates", "loan defaults", "capital requirements", "card fees", "bond yields"], "accounts"),
    "housing": (["affordable housing estate", "timber apartment tower", "retrofit programme", "student residence", "modular home factory"],
                ["rent levels", "mortgage approvals", "building permits", "construction costs", "land prices"], "homes"),
    "retail": (["distribution centre", "flagship store", "online marketplace", "loyalty programme", "same-day delivery service"],
               ["consumer spending", "shelf prices", "shop closures", "delivery times", "shoplifting losses"], "stores"),
}

# Paraphrase pairs: the article uses one wording, queries use another.
INVEST_VERBS = ["will invest", "plans to spend", "has committed", "is putting"]


@dataclass
class Facts:
    company: str
    partner: str
    project: str
    kind: str
    sector: str
    city: str
    amount: int
    jobs: int
    year: int
    pct: float
    person: str
    role: str
    capacity: int
    unit: str
    month: str


def _company(rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_STEM)} {rng.choice(COMPANY_SUFFIX)}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _coined(rng: random.Random) -> str:
    n = rng.choice((2, 2, 3))
    return "".join(rng.choice(SYLLABLES) for _ in range(n)).capitalize()


def _facts(rng: random.Random) -> Facts:
    sector = rng.choice(list(SECTORS))
    kinds, _, unit = SECTORS[sector]
    company = _company(rng)
    partner = _company(rng)
    while partner == company:
        partner = _company(rng)
    return Facts(
        company=company,
        partner=partner,
        project=_coined(rng),
        kind=rng.choice(kinds),
        sector=sector,
        city=rng.choice(CITIES),
        amount=rng.randrange(40, 4000, 5),
        jobs=rng.randrange(80, 6000, 10),
        year=rng.randrange(2026, 2034),
        pct=round(rng.uniform(1.2, 14.8), 1),
        person=_person(rng),
        role=rng.choice(ROLES),
        capacity=rng.randrange(50, 9000, 25),
        unit=unit,
        month=rng.choice(MONTHS),
    )


def _fact_sentences(f: Facts, rng: random.Random) -> list[str]:
    verb = rng.choice(INVEST_VERBS)
    surname = f.person.split()[-1]
    return [
        f"{f.company} said on {rng.choice(WEEKDAYS)} that it {verb} ${f.amount} million in {f.project}, "
        f"a {f.kind} in {f.city}.",
        f"The {f.project} project is expected to create {f.jobs:,} jobs in and around {f.city} by {f.year}.",
        f"{f.person}, the {f.role} of {f.company}, told reporters that {f.project} would be "
        f"\"the centrepiece of our {f.sector} business for the next decade\".",
        f"{f.company} will build {f.project} together with {f.partner}, which is contributing equipment "
        f"and engineering staff.",
        f"Shares of {f.company} rose {f.pct} percent after the announcement, their biggest one-day gain since {f.month}.",
        f"Once complete, {f.project} is designed to serve about {f.capacity:,} {f.unit}.",
        f"{surname} said construction of the {f.kind} would begin in {f.month} and that local suppliers "
        f"would get priority for contracts.",
        f"{f.partner} declined to say how much of the ${f.amount} million it would cover itself.",
    ]


def _background(f: Facts, rng: random.Random) -> Callable[[], str]:
    _, topics, unit = SECTORS[f.sector]
    templates = [
        "Analysts at {firm} said {topic} remained the main risk for the {sector} sector this year.",
        "{other} reported revenue of ${n} billion for the last quarter, slightly below forecasts.",
        "In {city2}, officials have spent months debating {topic}, with no agreement in sight.",
        "{analyst}, an analyst at {firm}, said investors were watching {topic} closely.",
        "The {sector} industry employs roughly {k},000 people in the region, according to trade figures.",
        "Earlier this year {other} abandoned a similar plan in {city2}, citing {topic}.",
        "Local councillors in {city} welcomed the news but asked for guarantees on {topic}.",
        "Regulators are expected to publish new guidance on {topic} before the end of {month}.",
        "{other} and {other2} announced a joint venture last year worth ${n} million.",
        "Trade unions in {city} said they would press for training commitments tied to the new jobs.",
        "Competition for skilled workers has pushed wages up by {p} percent over the past two years.",
        "{analyst} of {firm} cautioned that projects of this size often run late and over budget.",
        "Residents raised concerns about traffic and noise during a public meeting in {city} last {month}.",
        "The {sector} market grew by {p} percent last year, driven largely by {topic}.",
        "A spokesperson for {other} said the company had no plans to expand in {city2}.",
        "Government data published in {month} showed {topic} rising for a third straight quarter.",
        "Several pension funds have increased their exposure to {sector} assets, citing {topic}.",
        "{other} operates {k} similar sites serving more than {n},000 {unit} across the country.",
        "Critics argue that {topic} will matter more to the outcome than any single investment.",
        "The mayor of {city2} said the region could not afford to fall behind on {topic}.",
        "Industry groups have lobbied for tax credits to offset {topic}.",
        "{analyst} expects consolidation among mid-sized {sector} firms over the next two years.",
        "Bond markets reacted calmly, with yields little changed by the close of trading.",
        "A report by {firm} ranked {city} among the ten most attractive cities for {sector} investment.",
    ]

    def sentence() -> str:
        other = _company(rng)
        return rng.choice(templates).format(
            firm=rng.choice(ANALYST_FIRMS),
            topic=rng.choice(topics),
            sector=f.sector,
            other=other,
            other2=_company(rng),
            city=f.city,
            city2=rng.choice(CITIES),
            analyst=_person(rng),
            month=rng.choice(MONTHS),
            n=rng.randrange(2, 90),
            k=rng.randrange(2, 60),
            p=round(rng.uniform(0.5, 12.0), 1),
            unit=unit,
        )

    return sentence


def article(seed: int, index: int) -> tuple[str, Facts]:
    """(file text, key facts) of article `index`; the same for every corpus size."""
    rng = random.Random(seed * 1_000_003 + index)
    f = _facts(rng)
    title = rng.choice(
        [
            f"{f.company} bets ${f.amount} million on {f.project} in {f.city}",
            f"{f.company} unveils {f.project}, a {f.kind} for {f.city}",
            f"{f.city} lands {f.company}'s {f.project} {f.kind}",
            f"{f.company} and {f.partner} team up on {f.project}",
        ]
    )
    facts = _fact_sentences(f, rng)
    background = _background(f, rng)
    target_words = rng.randrange(600, 1200)
    paragraphs: list[str] = [facts[0] + " " + facts[1]]
    rest = facts[2:]
    rng.shuffle(rest)
    words = sum(len(p.split()) for p in paragraphs)
    while words < target_words:
        sentences = [background() for _ in range(rng.randrange(3, 7))]
        if rest and rng.random() < 0.45:
            sentences.insert(rng.randrange(len(sentences) + 1), rest.pop())
        para = " ".join(sentences)
        paragraphs.append(para)
        words += len(para.split())
    if rest:  # every key fact appears at least once
        paragraphs.append(" ".join(rest))
    byline = f"By {_person(rng)}"
    text = f"{title}\n\n{byline}\n\n" + "\n\n".join(paragraphs) + "\n"
    return text, f


def queries_for(f: Facts, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, question) paraphrasing the article's key facts."""
    return [
        ("amount", f"How much money is {f.company} putting into the {f.project} project?"),
        ("jobs", f"How many jobs will {f.project} bring to {f.city}?"),
        ("partner", f"Which company is helping {f.company} build {f.project}?"),
        ("person", f"Who is the {f.role} of {f.company} quoted about {f.project}?"),
        ("shares", f"What happened to {f.company} stock after it announced the {f.city} {f.kind}?"),
        ("capacity", f"How many {f.unit} will the {f.kind} in {f.city} by {f.company} serve?"),
        ("no-name", f"{f.company} {f.sector} investment {f.city} {f.year} jobs"),
    ]


def article_path(index: int) -> str:
    return f"s{index // 1000:03d}/a{index:06d}.txt"


def write_corpus(folder: Path, n_articles: int, seed: int = 7, n_queries: int = 300) -> list[dict]:
    """Writes `n_articles` files under `folder` (streamed) and returns the queries with their source."""
    pick_rng = random.Random(seed)
    picks = set(pick_rng.sample(range(n_articles), min(n_queries, n_articles)))
    queries: list[dict] = []
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_articles):
        text, facts = article(seed, i)
        path = folder / article_path(i)
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if i in picks:
            qrng = random.Random(seed * 7_919 + i)
            kind, question = qrng.choice(queries_for(facts, qrng))
            queries.append({"question": question, "source": article_path(i), "kind": kind})
    # Interleave query kinds/sources deterministically rather than by article order.
    random.Random(seed + 1).shuffle(queries)
    return queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    queries = write_corpus(args.out, args.articles, args.seed, args.queries)
    (args.out / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    print(f"wrote {args.articles} articles and {len(queries)} queries under {args.out}")


if __name__ == "__main__":
    main()
