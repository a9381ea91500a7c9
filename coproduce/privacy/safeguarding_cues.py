"""The curated lexicon behind the safeguarding flagger: what words and phrases suggest a disclosure.

Each cue is a regular expression (matched case-insensitively) with the category it suggests and a
short description shown to the reviewer as the reason for the flag. Recall matters more than
precision: a missed disclosure is worse than a false flag, so a cue errs on the side of flagging.

``negatable`` cues are ignored when a negation sits just before them in the same clause ("I don't
feel unsafe"); cues that carry their own negation ("nobody feeds me", "I don't feel safe") are not.
``needs_anchor`` cues are words that policy text uses too ("abuse", "self-harm", "suicide"): they
flag only in a sentence that is about someone (I, my, he, she, my son, a pupil ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORIES = (
    "self_harm",
    "abuse",
    "neglect",
    "harm_by_adult",
    "harm",
    "exploitation",
    "domestic_violence",
    "feeling_unsafe",
    "running_away",
)


@dataclass(frozen=True)
class Cue:
    category: str
    pattern: re.Pattern[str]
    description: str
    negatable: bool = True
    needs_anchor: bool = False


def _cue(category: str, regex: str, description: str, *, negatable: bool = True, anchor: bool = False) -> Cue:
    return Cue(category, re.compile(regex, re.IGNORECASE), description, negatable, anchor)


_SELVES = r"(?:my|him|her|them|your|our)sel(?:f|ves)"
_BODY = r"(?:arms?|wrists?|legs?|skin|thighs?|stomach|face|hands?)"
_PEOPLE_WHO = r"(?:i|he|she|they|we)"

CUES: tuple[Cue, ...] = (
    # --- self-harm and suicidal thoughts ---
    _cue("self_harm", rf"\bkill(?:s|ing|ed)?\s+{_SELVES}\b", "talk of suicide"),
    _cue("self_harm", rf"\bhang(?:s|ing|ed)?\s+{_SELVES}\b", "talk of suicide"),
    _cue(
        "self_harm",
        r"\b(?:end|ends|ending|ended|take|takes|taking|took)\s+(?:it\s+all|(?:my|his|her|their)\s+(?:own\s+)?life)\b",
        "talk of suicide",
    ),
    _cue("self_harm", r"\bwant(?:s|ed)?\s+to\s+die\b", "wanting to die"),
    _cue(
        "self_harm",
        rf"\bwish(?:es|ed)?\s+{_PEOPLE_WHO}\s+(?:was|were)\s+(?:dead|never\s+born|not\s+(?:alive|here|born))\b",
        "wishing to be dead",
    ),
    _cue(
        "self_harm",
        rf"\bwish(?:es|ed)?\s+{_PEOPLE_WHO}\s+(?:wasn'?t|weren'?t)\s+(?:alive|here|born)\b",
        "wishing to be dead",
    ),
    _cue(
        "self_harm",
        r"\b(?:don'?t|do\s+not|doesn'?t|does\s+not|didn'?t)\s+want\s+to\s+(?:be\s+here|live|be\s+alive|exist|wake\s+up)\b",
        "not wanting to live",
        negatable=False,
    ),
    _cue(
        "self_harm",
        r"\bbetter\s+off\s+(?:without\s+(?:me|him|her)|dead)\b",
        "feeling others are better off without them",
    ),
    _cue(
        "self_harm",
        r"\bno\s+(?:point|reason)\s+(?:in\s+)?(?:living|going\s+on|being\s+alive|to\s+live|in\s+life)\b",
        "no point in living",
        negatable=False,
    ),
    _cue("self_harm", r"\bsuicid(?:e|al)\b", "suicide", anchor=True),
    _cue("self_harm", r"\bself[\s-]?harm(?:s|ed|ing)?\b", "self-harm", anchor=True),
    _cue("self_harm", r"\boverdos(?:e|es|ed|ing)\b", "overdose", anchor=True),
    _cue(
        "self_harm",
        rf"\b(?:cut|cuts|cutting|burn|burns|burning|burnt|hurt|hurts|hurting|harm|harms|harming|scratch|scratches|scratching|starve|starves|starving|bang|bangs|banging|hit|hits|hitting|punch|punches|punching)\s+{_SELVES}\b",
        "hurting themselves",
    ),
    _cue(
        "self_harm",
        rf"\b(?:cut|cuts|cutting|scratch|scratches|scratching|burn|burns|burning|burnt)\s+(?:my|his|her|their)\s+{_BODY}\b",
        "injuring their own body",
    ),
    _cue(
        "self_harm",
        r"\bif\s+(?:i|he|she)\s+(?:wasn'?t|wasnt|was\s+not|weren'?t|werent|were\s+not)\s+(?:here|alive|around|born)\b",
        "feeling others are better off without them",
        negatable=False,
    ),
    _cue(
        "self_harm",
        r"\b(?:started|start|starting|stopped|been|keep|keeps|kept|still)\s+(?:cutting|self-harming|self\s+harming|burning|scratching)\b|\bcutting\s+again\b",
        "self-harm",
    ),
    _cue(
        "self_harm",
        r"\b(?:bang|bangs|banging|banged|hit|hits|hitting|smash|smashes|smashing)\s+(?:my|his|her|their)\s+head\s+(?:on|against|off)\b|\b(?:bang|bangs|banging)\s+(?:my|his|her|their)\s+head\b",
        "hurting themselves",
    ),
    _cue(
        "self_harm",
        r"\b(?:bite|bites|biting|pull|pulls|pulling)\s+(?:my|his|her|their)\s+(?:own\s+)?(?:arms?|hands?|skin|hair\s+out)\b",
        "hurting themselves",
    ),
    _cue("self_harm", r"\bjump(?:ing)?\s+off\s+(?:a|the)\s+(?:bridge|roof|building|cliff)\b", "talk of suicide"),
    # --- abuse: sexual, physical, emotional ---
    _cue(
        "abuse",
        r"\btouch(?:es|ed|ing)?\s+(?:me|him|her|us)\b(?!\s+on\s+the\s+(?:shoulder|arm|back)\b)",
        "unwanted touching",
    ),
    _cue("abuse", r"\b(?:private\s+parts?|privates|genitals?|naked|nude|nudes)\b", "sexual content", anchor=True),
    _cue("abuse", r"\bsexual(?:ly)?\b", "sexual content", anchor=True),
    _cue("abuse", r"\b(?:rape|raped|raping|molest\w*|sexual\s+assault)\b", "sexual abuse"),
    _cue(
        "abuse",
        r"\bmade\s+(?:me|him|her|us)\s+(?:do\s+(?:things|stuff|something|sexual)|touch|watch|undress|take\s+(?:off\s+)?(?:my|his|her|our)?\s*clothes)",
        "being made to do things",
    ),
    _cue("abuse", r"(?<!domestic\s)\babus(?:e|es|ed|ing|ive)\b", "abuse", anchor=True),
    _cue("abuse", r"\b(?:our|a|my|his|her)\s+(?:little\s+)?secret\b", "being told to keep a secret", anchor=True),
    _cue(
        "abuse",
        r"\b(?:says?|said|tells?|told|calls?|called)\s+(?:me\s+)?(?:that\s+)?(?:i'?m|im|i\s+am|i\s+was|me)?\s*(?:a\s+)?(?:waste\s+of\s+space|worthless|useless|a\s+mistake|unlovable|evil|a\s+burden)\b",
        "being told they are worthless",
    ),
    _cue(
        "abuse",
        r"\b(?:dad|daddy|father|mum|mummy|mom|mother|step-?dad|step-?mum|parents?|carers?|he|she)\s+(?:really\s+)?(?:hates?|hated)\s+me\b",
        "being told they are hated",
        anchor=True,
    ),
    _cue(
        "abuse",
        r"\bcalls?\s+(?:me|him|her|us)\s+(?:worthless|stupid|useless|fat|ugly|disgusting|a\s+waste|names|retard\w*|thick|a\s+freak)\b",
        "being called names",
    ),
    _cue(
        "abuse",
        r"\bwish(?:es|ed)?\s+(?:i|he|she)\s+(?:had\s+)?(?:was|were|been)\s+never\s+born\b",
        "being told they are unwanted",
    ),
    # --- neglect ---
    _cue(
        "neglect",
        r"\bnobody\s+(?:feeds|looks\s+after|cares\s+for|cares\s+about|takes\s+care\s+of|washes|picks\s+(?:me|him|her)\s+up|is\s+(?:ever\s+)?(?:home|there|in))\b",
        "nobody caring for them",
        negatable=False,
    ),
    _cue(
        "neglect",
        r"\b(?:never|no|isn'?t\s+any|not\s+any|nothing)\s+(?:any\s+)?(?:food|to\s+eat|dinner|breakfast|tea|clean\s+clothes)\b",
        "no food or care at home",
        negatable=False,
        anchor=True,
    ),
    _cue("neglect", r"\b(?:go|goes|went|going)\s+to\s+(?:bed|school|sleep)\s+hungry\b", "going hungry"),
    _cue(
        "neglect",
        r"\b(?:don'?t|dont|do\s+not|doesn'?t|never)\s+(?:have|get|got)\s+(?:any|enough)\s+(?:food|dinner|breakfast|tea|money\s+for\s+food|clean\s+clothes)\b",
        "no food at home",
        negatable=False,
    ),
    _cue(
        "neglect",
        r"\bno\s+(?:heating|electric|electricity|gas|hot\s+water|bed|beds|food|clean\s+water)\b",
        "no heating, power or food at home",
        negatable=False,
        anchor=True,
    ),
    _cue(
        "neglect",
        r"\b(?:make|makes|made|cook|cooks|get|gets)\s+(?:my|our|his|her)\s+own\s+(?:tea|dinner|meals?|food|breakfast|lunch)\b",
        "getting their own meals",
    ),
    _cue(
        "neglect",
        r"\b(?:mum|dad|mom|mother|father|parents?)\s+(?:sleeps?|stays?\s+in\s+bed|is\s+in\s+bed)\s+all\s+day\b",
        "a carer not getting up",
    ),
    _cue("neglect", r"\b(?:always|often|so)\s+hungry\b", "going hungry", anchor=True),
    _cue(
        "neglect",
        r"\b(?:haven'?t|hasn'?t|have\s+not|has\s+not|didn'?t)\s+(?:eaten|had\s+(?:any(?:thing)?\s+)?(?:food|to\s+eat|dinner|breakfast))\b",
        "not eating",
        negatable=False,
    ),
    _cue(
        "neglect",
        r"\bleft\s+(?:(?:me|him|her|us)\s+)?(?:on\s+(?:my|his|her|our)\s+own|alone|home\s+alone|by\s+(?:my|him|her)sel(?:f|ves))\b",
        "left alone",
    ),
    _cue(
        "neglect",
        r"\b(?:dirty|smelly|unwashed)\s+clothes\b|\bwithout\s+(?:breakfast|food|a\s+coat|lunch|dinner)\b",
        "signs of neglect",
        anchor=True,
    ),
    _cue(
        "neglect",
        r"\b(?:is|are|was|were|gets|get|always|often)\s+(?:always\s+)?(?:drunk|high|passed\s+out|off\s+(?:her|his|their)\s+(?:head|face)s?)\b",
        "a carer drunk or high",
        anchor=True,
    ),
    _cue(
        "neglect",
        r"\bhave\s+to\s+look\s+after\s+(?:my\s+(?:little\s+|baby\s+|younger\s+)?(?:brother|sister|brothers|sisters|mum|dad)|myself)\b",
        "caring for themselves or siblings",
    ),
    _cue("neglect", r"\bneglect(?:ed|s|ing)?\b", "neglect", anchor=True),
    # --- exploitation ---
    _cue(
        "exploitation",
        r"\b(?:pays?|paid|paying|gives?|gave)\s+(?:me|him|her|us)\s+(?:money\s+|cash\s+)?to\s+(?:take|carry|deliver|hold|sell|drop|move|keep)\b",
        "being paid to carry or sell",
    ),
    _cue(
        "exploitation",
        r"\bmet\s+(?:\w+\s+){0,2}on\s+(?:a|an|the)?\s*(?:game|app|snapchat|tiktok|instagram|discord|roblox|fortnite|xbox|playstation|whatsapp)\b",
        "contact with strangers online",
    ),
    _cue(
        "exploitation",
        r"\b(?:wants?|wanted|asked|asks|told|tells|makes?|made)\s+(?:me|him|her)\s+(?:to\s+)?send\s+(?:\w+\s+)?(?:pictures|photos|pics|videos|nudes|selfies)\b",
        "asked for pictures",
    ),
    _cue(
        "exploitation",
        r"\b(?:older|grown)\s+(?:man|men|boy|boys|guy|guys|lad|lads)\s+(?:picks?|picked|collects?|collected|drives?|drove)\b",
        "an older man collecting them",
    ),
    _cue(
        "exploitation",
        r"\bcomes?\s+(?:back|home)\s+with\s+(?:new\s+)?(?:clothes|trainers|money|cash|phones?|gifts|presents)\b",
        "unexplained gifts or money",
    ),
    _cue(
        "exploitation",
        r"\b(?:carry|carries|carrying|carried|take|takes|taking|took|deliver|delivers|delivering|delivered|hold|holding|held|move|moving|sell|selling|sold|drop|dropping)\s+(?:packages?|parcels?|stuff|drugs|bags?|things|weed|phones?)\s+(?:for|to)\b",
        "carrying or selling for others",
    ),
    _cue("exploitation", r"\bcounty\s+lines\b", "county lines"),
    _cue("exploitation", r"\bgroom(?:ed|ing|s)?\b", "grooming", anchor=True),
    _cue("exploitation", r"\bexploit(?:ed|ation|ing|s)?\b", "exploitation", anchor=True),
    _cue(
        "exploitation",
        r"\bmet\s+(?:\w+\s+){0,2}online\b|\b(?:talking|talk|chatting|chat)\s+to\s+(?:a\s+man|an?\s+older\s+\w+|someone|a\s+stranger|strangers)\s+online\b",
        "contact with strangers online",
    ),
    _cue(
        "exploitation",
        rf"\b(?:send|sends|sent|sending)\s+(?:(?:him|her|them)\s+)?(?:pictures|photos|pics|videos|images)\s+of\s+{_SELVES}\b",
        "asked for pictures of themselves",
    ),
    _cue("exploitation", r"\bowe\s+(?:them|him|her|people|someone)\s+money\b", "a debt to others"),
    _cue(
        "exploitation",
        r"\b(?:older|grown)\s+(?:boys|men|lads|man|kids|people|guys|girls|friends)\s+(?:gave|give|gives|buy|buys|bought|pay|paid|pays|make|made|makes|ask|asked|asks)\b",
        "older people giving or asking",
    ),
    _cue(
        "exploitation",
        r"\bgave\s+(?:me|him|her)\s+(?:money|cash|a\s+phone|presents|gifts|drugs|weed|vapes|alcohol)\b",
        "gifts or money from others",
    ),
    _cue(
        "exploitation",
        r"\b(?:boyfriend|girlfriend)\s+is\s+(?:\d{2}|much\s+older|older|an\s+adult|twenty|thirty)\b",
        "an adult partner",
    ),
    # --- domestic violence ---
    _cue("domestic_violence", r"\bdomestic\s+(?:violence|abuse)\b", "domestic abuse", anchor=True),
    _cue(
        "domestic_violence",
        r"\bpolice\s+(?:came|come|comes|were\s+called|was\s+called|turned\s+up|came\s+round)\b",
        "police called to the home",
        anchor=True,
    ),
    _cue(
        "domestic_violence",
        r"\b(?:fight|fights|fighting|argue|argues|arguing|scream|screaming|shouting)\s+(?:every\s+(?:night|day)|all\s+the\s+time|at\s+night)\b|\bbecause\s+of\s+the\s+fighting\b",
        "fighting at home",
        anchor=True,
    ),
    _cue("domestic_violence", r"\b(?:women'?s\s+)?refuge\b", "living in a refuge", anchor=True),
    _cue(
        "domestic_violence",
        r"\b(?:hear|heard|hearing)\s+(?:them|my\s+parents|mum\s+and\s+dad|dad\s+and\s+mum|(?:my\s+)?mum|(?:my\s+)?dad)\s+(?:fighting|screaming|hitting|crying)\b",
        "hearing violence at home",
    ),
    # --- feeling unsafe ---
    _cue(
        "feeling_unsafe",
        r"\b(?:don'?t|dont|do\s+not|never|not|doesn'?t|does\s+not|didn'?t)\s+feel(?:s)?\s+safe\b",
        "not feeling safe",
        negatable=False,
    ),
    _cue(
        "feeling_unsafe",
        r"\b(?:feel|feels|felt|feeling|am|is|i'?m)\s+(?:so\s+|really\s+|very\s+)?(?:unsafe|not\s+safe)\b",
        "feeling unsafe",
    ),
    _cue(
        "feeling_unsafe",
        r"\b(?:home|house|it)\s+(?:isn'?t|isnt|is\s+not|never\s+feels?|doesn'?t\s+feel)\s+safe\b",
        "home not safe",
        negatable=False,
    ),
    _cue(
        "feeling_unsafe", r"\bnot\s+safe\s+(?:at\s+home|in\s+(?:my|our)\s+house)\b", "not safe at home", negatable=False
    ),
    _cue(
        "feeling_unsafe",
        r"\b(?:scared|frightened|afraid|terrified)\s+(?:to\s+go\s+home|of\s+(?:going\s+home|my\s+(?:dad|mum|mom|stepdad|step-dad|stepmum|step-mum|father|mother|uncle|brother|carer|foster\s+\w+|teacher)|him|her|what\s+(?:he|she|they)))\b",
        "afraid of someone or of going home",
    ),
    _cue("feeling_unsafe", r"\bdon'?t\s+want\s+to\s+go\s+home\b", "not wanting to go home", negatable=False),
    # --- running away ---
    _cue("running_away", r"\b(?:ran|run|runs|running)\s+away\b(?!\s+with\b)", "running away", anchor=True),
    _cue("running_away", r"\b(?:went|go|goes|gone|going)\s+missing\b", "going missing", anchor=True),
    _cue("running_away", r"\b(?:ran|run|runs|running)\s+off\s+from\s+(?:home|school|the\s+house)\b", "running away"),
    _cue(
        "running_away",
        r"\bpolice\s+(?:brought|found|picked\s+up)\s+(?:me|him|her|them)\b",
        "found by the police",
        anchor=True,
    ),
    _cue("running_away", r"\bkick(?:ed|s)?\s+(?:me|him|her|us)\s+out\b", "thrown out of home"),
    _cue(
        "running_away",
        r"\bsofa[\s-]?surf\w*\b|\bsleep(?:s|ing)?\s+(?:rough|on\s+the\s+streets?)\b|\bslept\s+(?:rough|outside|in\s+a\s+park|on\s+the\s+streets?)\b",
        "nowhere safe to sleep",
    ),
)

# Being hurt by someone: the category depends on who does it and to whom, so it is decided in code.
_VIOLENT = (
    r"(?:hit|hits|hitting|slap(?:s|ped|ping)?|punch(?:es|ed|ing)?|kick(?:s|ed|ing)?|beat(?:s|ing|en)?|batter(?:s|ed|ing)?"
    r"|hurt(?:s|ing)?|smack(?:s|ed|ing)?|push(?:es|ed|ing)?|shove(?:s|d)?|shoving|grab(?:s|bed|bing)?|drag(?:s|ged|ging)?"
    r"|chok(?:e|es|ed|ing)|strangl(?:e|es|ed|ing)|throttl(?:e|es|ed|ing)|burn(?:s|ed|t)?|bit(?:e|es|ten)?|pinch(?:es|ed|ing)?"
    r"|shak(?:e|es|en|ing)|shook|attack(?:s|ed|ing)?|restrain(?:s|ed|ing)?|thump(?:s|ed|ing)?|strike(?:s)?|struck)"
)
_PASSIVE = (
    r"(?:hit|slapped|punched|kicked|beaten|battered|hurt|smacked|pushed|shoved|strangled|choked|burnt|burned|bitten"
    r"|attacked|assaulted|restrained|thrown|shaken|beaten\s+up|thumped|struck|locked\s+in)"
)
_BODY_PART = (
    r"(?:own\s+)?(?:arm|arms|leg|legs|knee|knees|head|hand|hands|back|foot|feet|ankle|wrist|finger|fingers|ear|ears"
    r"|eye|eyes|neck|face|shoulder|toe|toes|nose|tooth|teeth)"
)
_FAMILY_ADULT = r"(?:my\s+)?(?:mum|mummy|mom|mother|dad|daddy|father|step-?mum|step-?dad|nan|nana|gran|grandma)\b"
_CHILD_VICTIM = (
    rf"(?:me|us|him|them|her(?!\s+{_BODY_PART}\b)"
    r"|my\s+(?:little\s+|baby\s+)?(?:son|daughter|child|brother|sister|kids|children|boy|girl))"
)

HURT_CHILD = re.compile(
    rf"\b(?:{_VIOLENT}|thr(?:ow|ows|ew|owing)\s+(?:things|stuff|\w+)\s+at)\s+{_CHILD_VICTIM}\b", re.IGNORECASE
)
HURT_PARENT = re.compile(rf"\b{_VIOLENT}\s+{_FAMILY_ADULT}", re.IGNORECASE)
HURT_PASSIVE = re.compile(
    rf"\b(?:get|gets|got|getting|gotten|was|were|been|being|am|is|are|i'm)\s+(?:\w+\s+)?{_PASSIVE}\b", re.IGNORECASE
)
LOCKED_IN = re.compile(r"\block(?:s|ed|ing)?\s+(?:me|him|her|us|them)\s+(?:in|out)\b", re.IGNORECASE)
INJURY = re.compile(r"\b(?:bruis(?:e|es|ed|ing)|black\s+eye|marks\s+on\s+(?:my|his|her))\b", re.IGNORECASE)

# "kicked me out" is being thrown out of home (running_away), not a kick.
KICKED_OUT = re.compile(r"kick(?:s|ed|ing)?\s+\w+\s+out\b", re.IGNORECASE)
# "got hit by a ball": a passive hurt whose agent is a thing, not a person.
BY_A_THING = re.compile(
    r"\s+by\s+(?:a|an|the)\s+(?!(?:man|woman|boy|girl|kid|lad|teacher|adult|member|group|gang|pupil|student|person)\b)\w+",
    re.IGNORECASE,
)
# A parent named in the sentence when "her" or "him" is hurt: one parent hurting the other.
MOTHER = re.compile(r"\b(?:mum|mummy|mom|mother|step-?mum)\b", re.IGNORECASE)
FATHER = re.compile(r"\b(?:dad|daddy|father|step-?dad)\b", re.IGNORECASE)

# Someone who is (usually) an adult with power over a child: being hurt by one is harm_by_adult.
ADULT = re.compile(
    r"\b(?:dad|daddy|father|mum|mummy|mom|mother|step-?dad|step-?mum|step-?father|step-?mother|parents?|uncle|aunt|auntie"
    r"|grandad|grandpa|grandma|nan|nana|gran|carers?|foster|teachers?|staff|adults?|man|men|woman|women|ta|escort"
    r"|driver|coach|boyfriend|girlfriend|partner|sir|miss|mr|mrs|ms|officer|worker|headteacher|guardian|babysitter"
    r"|childminder|belt)\b|\bat\s+home\b",
    re.IGNORECASE,
)

# Someone the sentence is about: needed by cues that policy text also uses ("signs of abuse").
ANCHOR = re.compile(
    r"\b(?:i|i'm|im|i've|me|my|myself|we|us|our|he|him|his|she|her|son|daughter|child|kid|kids|brother|sister"
    r"|boy|girl|pupil|student|baby)\b",
    re.IGNORECASE,
)

NEGATION = re.compile(
    r"\b(?:not|no|never|nobody|nothing|don'?t|dont|doesn'?t|didn'?t|isn'?t|wasn'?t|won'?t|wouldn'?t|haven'?t"
    r"|hasn'?t|hadn'?t|aren'?t|ain'?t|cannot)\b|n't\b",
    re.IGNORECASE,
)
# A negation only reaches across the few words of its own clause.
CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:and|but|because|so|when|if|then|until|while|although)\b", re.IGNORECASE)
