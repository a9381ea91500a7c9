"""Word lists behind the UK recognisers and the SEND deny-list.

Kept apart from the patterns so that a reviewer can add a term without reading any regular expressions.
Every entry is lower case; lookups lower-case the word first.
"""

from __future__ import annotations

from spacy.lang.en.stop_words import STOP_WORDS


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of a block of text, so that long lists stay readable."""
    return frozenset(text.split())


def phrases(text: str) -> frozenset[str]:
    """The comma-separated phrases of a block of text, with their inner whitespace normalised."""
    return frozenset(" ".join(phrase.split()) for phrase in text.split(","))


# SEND and public-service vocabulary that spaCy's small English model sometimes tags as a PERSON or ORG
# ("Local Offer", "SENCo", "Ofsted"). A PERSON detection made only of these words is dropped: these words
# are the subject matter of a consultation, not anyone's personal data.
SEND_TERMS = phrases(
    """
    ehcp, ehcps, ehc, ehc plan, ehcna, senco, sencos, sendco, nasenco, npq, send, sen, sen support,
    sen register, sendiass, iass, ipsea, ofsted, cqc, camhs, local offer, green paper, tribunal,
    tribunals, send tribunal, la, las, lea, slt, ota, salt, ot, ta, tas, lsa, lsas, hlta, semh, slcn,
    asd, asc, adhd, add, pda, odd, dcd, spld, mld, sld, pmld, hi, vi, msi, pd, ep, eps, dla, annual
    review, code of practice, send code of practice, section f, section b, portage, makaton, pecs, bsl,
    tac, cin, cp, lac, cla, pep, peps, dsl, dco, dmo, icb, ccg, nhs, gp, gps, autism, autistic,
    asperger, aspergers, asperger's, down, down's, down syndrome, down's syndrome, tourette, tourettes,
    tourette's, dyslexia, dyspraxia, dyscalculia, epilepsy, cerebral palsy, ombudsman,
    local government ombudsman, lgo, lgsco, dfe, dhsc, mp, mps, council, local authority,
    early help, social services, social care, sensory service, parent carer forum, pcf,
    national standards, universal provision, alternative provision, ap, pru, prus, resource base,
    needs assessment, educational psychologist, paediatrician, speech and language therapy,
    occupational therapy, physiotherapy, reception, year, key stage, ks1, ks2, ks3, ks4, gcse, gcses,
    sats, btec, mum, mom, dad, nan, nana, gran, granny, grandma, grandad, grandpa, auntie, sir, madam,
    miss, head, headteacher, teacher, good, outstanding, requires improvement, inadequate
    """
)

# Single words of the list, for checks made word by word.
SEND_WORDS = frozenset(term for term in SEND_TERMS if " " not in term)

# Acronyms that are also first names ("Mat", "Pip"): only vocabulary when written in capitals.
NAME_LIKE_ACRONYMS = frozenset({"mat", "mats", "pip"})

# Words that cannot be someone's name in "my son ___" or "called ___" patterns.
NOT_A_NAME = (
    frozenset(STOP_WORDS)
    | SEND_WORDS
    | words(
        """
        has had is was gets got goes went loves hates needs wants can cannot can't could would will
        just now also still always never age aged who and but year years old
        social services police school college nursery academy home hospital
        facebook instagram twitter tiktok youtube whatsapp snapchat google zoom microsoft
        """
    )
)

# Relationship nouns after which a capitalised word is almost always a first name: "my son Jack".
KIN_WORDS = phrases(
    """
    son, daughter, child, boy, girl, baby, brother, sister, twin, twins, grandson, granddaughter,
    nephew, niece, stepson, stepdaughter, step-son, step-daughter, cousin, friend, best friend, mate,
    mum, mom, dad, husband, wife, partner, key worker, keyworker, social worker, caseworker,
    case worker, support worker, teacher, ta, tutor, senco, consultant, therapist, paediatrician
    """
)

TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Professor", "Sir", "Dame")

# UK postcode areas (the leading letters of the outward code). A shape-valid code with any other area,
# such as "KS2 3RD" (Key Stage 2), is not a postcode.
POSTCODE_AREAS = words(
    """
    AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY
    E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN
    LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP
    SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE
    """
)

STREET_SUFFIXES = words(
    """
    Road Rd Street St Lane Ln Avenue Ave Close Drive Dr Way Crescent Cres Grove Place Pl Gardens Gdns
    Terrace Court Ct Mews Row Walk Square Sq Hill Rise Parade Green Vale View Croft Fold Wharf Yard Park
    Boulevard
    """
)

# Named buildings that flats sit in: "Flat 12, Elm Court".
BUILDING_SUFFIXES = words("House Court Lodge Mansions Tower Heights Buildings Point Block")

# Prefix words that do not make a phrase a school's name: "special school", "a primary school",
# "Sixth Form College" and "Mainstream Schools" name kinds of setting, not one setting.
GENERIC_SCHOOL_WORDS = (
    frozenset(STOP_WORDS)
    | SEND_WORDS
    | words(
        """
        special primary secondary infant infants junior juniors high grammar sixth form mainstream
        independent free community residential day boarding further education state faith church
        catholic rc ce c e of maintained village local new old previous current next nearest
        specialist secure hospital pupil referral unit alternative provision sen send all our every
        this that these those another different mixed single sex boys girls private public county
        city council trust multi academy federation inclusive good outstanding
        """
    )
)


def is_send_vocabulary(text: str) -> bool:
    """True when a word or phrase is SEND or service vocabulary rather than a name ("SENCo", "MAT",
    "Local Offer"); "Mat" and "Green" on their own may be names."""
    bare = " ".join(text.split()).strip(".,;:!?()\"'’")
    for suffix in ("'s", "’s"):
        if bare.endswith(suffix):
            bare = bare[: -len(suffix)]
    lower = bare.lower()
    if lower in SEND_TERMS:
        return True
    return lower in NAME_LIKE_ACRONYMS and bare.isupper()
