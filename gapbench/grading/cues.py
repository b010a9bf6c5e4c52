"""Cues: the words and patterns that tell what a sentence does with a move.

Acceptance ("sounds good", "👍"), rejection ("no", "I'd rather"), claims of position ("we are at"),
descriptions ("looks open"), negation, conditions, questions, plans. ``grading.acts`` reads messages
with them; keeping the vocabulary apart keeps the reading logic short. All patterns run on text
normalised by ``grading.text``.
"""

from __future__ import annotations

import re

# What may stand between two symbols of one run: punctuation, arrows, "and", "then", list numbering.
RUN_GAP = re.compile(
    r"(?:[\s,;:/+>|*_\"'`]|->|=>|→|⟶|⇒|⟹|\band\b|\bthen\b|\bnext\b|\bonce more\b|\bagain\b|\b(?:first|second|third|fourth|fifth|sixth|last)\b|\bfollowed by\b|\bafter that\b|\bfinally\b"
    r"|\b(?:go|move|step|head|and go|and move)\b|\b(?:to|into|onto)\b|\b(?:a|an)\b|\b\d{1,2}[.)]\s)*",
    re.IGNORECASE,
)

OR_GAP = re.compile(r"^[\s,]*(?:or|or maybe|or else|/)[\s,]*$", re.IGNORECASE)

# Clause boundaries: a run's context is read only up to these.
CLAUSE_BREAK = re.compile(
    r"[,;()\[\]]|\s-\s|\b(?:because|since|as|which|so|but|though|although|while|whereas|and|otherwise|however|then)\b",
    re.IGNORECASE,
)

CLAIM_BEFORE = re.compile(
    r"(?:\b(?:we|i|you|both of us|@|our position|my position|position|pos|location|current(?: position| cell| location| spot)?|start(?:ing)?(?: position| cell| point)?|we'?re|i'?m|we'?ve|i'?ve)"
    r"(?:\s+(?:are|am|is|were|was|remain|stay|sit|stand|have (?:moved|arrived|gone|come)|moved|arrived|got|ended up|end up|(?:will|would|should|'?ll|must)(?:\s+(?:now|then|already))?\s+be))?"
    r"(?:\s+(?:now|currently|still|back|already|both|just|then|again|here|all|right))*"
    r"\s*(?:at|on|in|to|is|:|=)?\s*(?:the\s+)?(?:cell|square|position|spot|tile)?\s*:?\s*"
    r"|\b(?:arrived|reached|landed|made it|got|ended up|puts us|put us|leaves us|leave us|brings us|bring us|takes us|lands us)(?:\s+(?:at|on|in|to|into))?\s*(?:the\s+)?(?:cell\s+)?"
    # "back at (1,0)" states a position; "back north to (1,0)?", "go back to (1,0)" propose a move
    r"|\bback\s+(?:at|on|in)\s+(?:the\s+)?(?:cell\s+)?"
    # "Start (@): (0, 0)": the start, labelled
    r"|\bstart(?:ing)?(?:\s+(?:cell|position|point))?\s*\([^()]{0,3}\)\s*[:=]\s*"
    # "I'm at the top-left (0,0)": a corner named, then its cell
    r"|\b(?:at|in|from)\s+(?:the\s+)?(?:top|upper|bottom|lower)[- ]?(?:left|right)(?:\s+corner)?\s*[,:(]?\s*"
    # "Position after move: (1,0)", "We now occupy the second row, first column"
    r"|\bposition\s+after\s+(?:the\s+|this\s+|that\s+)?(?:move|step|moving)\s*[:=]?\s*"
    r"|\b(?:we|i)\s+(?:now\s+)?(?:occupy|stand on|sit on|sit in)\s+(?:the\s+)?(?:cell\s+)?"
    r"|^\W*at\s+(?:the\s+)?|📍\s*|\bfrom(?:\s+the)?(?:\s+(?:cell|square|position))?\s*|\b(?:now|still|currently)\s+(?:at|on|in)\s*(?:the\s+)?(?:cell\s+)?)$",
    re.IGNORECASE,
)

NARRATION_BEFORE = re.compile(
    r"(?<!keep )(?<!keeps )(?<!continue )(?<!start )\b(?:moving|moved|went|going|stepping|stepped|heading|headed|taking|took|executing|executed|doing|on my way|proceeding|proceeded)\b",
    re.IGNORECASE,
)

NEGATION = re.compile(
    r"[❌🚫⛔✗✘]|(?<!why )(?<!why do )\b(?:disagree with|against|not|never|no(?!\s+(?:change|problem|worries|doubt|need|issue))|avoid|reject|rejected|refuse|can't|cannot|can not|couldn't|won't|wouldn't|shouldn't|(?<!why )don't|do not|mustn't|instead of|rather than|impossible|neither|nor|n't)\b",
    re.IGNORECASE,
)

CONDITIONAL = re.compile(
    r"\b(?:if|otherwise|else|whether|suppose|(?:should|could|would|might)(?:\s+have|'ve)|supposing|assuming|unless|in case|(?<!at )once(?!\s+(?:more|again))|after(?!\s+(?:that|this))|before|when|until|(?:we|you|i)\s+(?:could|might|may)|(?:we|you)(?:'d|\s+would)\s+(?:need|have|want|probably|eventually)|at some point)\b",
    re.IGNORECASE,
)

HYPOTHETICAL_AFTER = re.compile(
    r"^\W*(?:\w+\s+){0,3}?(?:would|might|could|will|would've|leads?|goes|takes us)\b(?!\s+you\b)",
    re.IGNORECASE,
)

BLOCKED_AFTER = re.compile(
    r"^\s*(?:looks|seems|is|appears|feels)\s+(?:\w+\s+)?(?:bad|risky|wrong|worse)\b"
    # "down now to go around the walls": a way past walls is not a wall
    r"|^(?![\s\w'*_:-]{0,24}?\b(?:around|past|avoid|avoiding|between|along|through)\b)[\s\w'*_:-]{0,24}?(?:\b(?:is|are|was|looks|seems|appears|would be|will be|leads? (?:into|to)|has|hits?)\b|=|:)?\s*(?:a\s+|an\s+|the\s+)?"
    r"(?:wall|blocked|#|🧱|obstacle|dead[\s-]end|closed|not open|not free|off the (?:grid|map|board)|out of bounds|impassable|not passable)",
    re.IGNORECASE,
)

INFO_AFTER = re.compile(
    # "(0,1) to our right is hidden", "(2,0) below us is a wall": a cell located, then described
    r"^\s*(?:\(\w+\)\s*)?(?:,?\s*(?:directly\s+|just\s+)?(?:(?:to|on)\s+(?:our|the|my|your)\s+(?:left|right)"
    r"|(?:below|above|under|beside|next to)\s+(?:us|it|that|this|there)),?\s+)?(?:is|are|was|looks?|seems?|appears?|shows|has|=|:)\s+(?:also\s+|still\s+|probably\s+|likely\s+|definitely\s+)?(?:a\s+|an\s+)?['\"`\u2018\u2019\u201c\u201d]?(?:open|free|clear|empty|visible|hidden|unknown|fine|safe|path|passable|walkable|\.|\?|the goal|goal|(?:different|other|another|wrong|same)\b|the (?:cell|square) (?:directly |just )?(?:below|above|left|right|next|under|beside)|\*"
    r"|below|above|under|beneath|to the (?:left|right)|(?:left|right) of|next to|beside)",
    re.IGNORECASE,
)

INFO_BEFORE = re.compile(
    # "what's around (1,3)": a cell asked or told about by its surroundings
    r"\b(?:around|surrounding|near|nearby)\s+(?:the\s+)?(?:cell\s+)?$"
    # "Can you confirm (0,2)?": a question about the partner's map
    r"|\b(?:can|could|would)\s+you\s+(?:please\s+)?(?:confirm|check|verify|double-check)\s+(?:that\s+)?(?:the\s+)?(?:cell\s+)?$"
    # "My top row is open too (→→→)": the moves in brackets show what is open
    r"|\b(?:open|clear|free|visible|blocked|walls?)\b(?:\s+(?:too|also|as well))?\s*\($"
    # "what does (2,1) look like for you?", "what's at (2,1)?": a question about the map
    r"|\bwhat(?:'s|\s+is|\s+are|\s+does|\s+do|\s+about\s+the\s+cell)\s+(?:at\s+|in\s+)?(?:the\s+)?(?:cell\s+|square\s+)?$"
    r"|(?:\b(?:wall|walls|blocked|open|free|clear|visible|hidden|unknown|see|shows?|showing|has|have|cell|cells|square|goal|path|obstacle|issue|problem|danger|trap|check|verify|inspect|look at|#|\?)(?:\s+(?:is|are|at|in|on|located|sits|lies|further|farther|all the way(?: to)?|the whole way(?: to)?|up to|as far as|until))*\s*(?:the\s+)?(?:cell\s+)?)$",
    re.IGNORECASE,
)

# "row 3 is open on my map all the way: B3, C3": the cells listed after a description are described
DESCRIBED_LIST = re.compile(
    r"\b(?:is|are)\s+(?:all\s+|also\s+)?(?:open|free|clear|empty|hidden|unknown|walls?|blocked)\b[^.!?:,;]{0,40}:\s*$",
    re.IGNORECASE,
)

SO_IS = re.compile(r"\bso\s+(?:is|are)\s+(?:the\s+)?(?:cell\s+)?$", re.IGNORECASE)  # "..., and so is (3,3)"

QUESTION_SEEKS_AGREEMENT = re.compile(
    r"\b(?:agree|agreed|ok|okay|sound|sounds|think|thoughts|right|correct|fine|good|ready|confirm|yes|deal|with me|on board|objections?|alright)\s*\??\s*$",
    re.IGNORECASE,
)

ACCEPT = re.compile(
    r"(?:\b(?:yes|yeah|yep|yup|yea|ya|ok|okay|okey|k|kk|(?<!be )(?<!make )(?<!making )(?<!not )sure|agreed|i agree|we agree|agree|i concur|concur|concurred|sounds? (?:good|great|right|fine|perfect|like a (?:good )?plan)|confirmed|confirm|deal|correct|exactly|absolutely|affirmative|roger|alright|all right|makes sense|go ahead|go for it|let'?s do (?:it|that|this|so)|do it|works for me|on it|of course|indeed|i'?m in|why not|definitely|certainly|understood|got it|aye|right you are|good (?:call|idea|plan)|same here|likewise|copy|copy that|will do|accept|accepted|count me in|i think so|seconded|second that|i'?m game|i'?m down|all (?:two|three|four|five|six|of them|\d)|(?<!we )(?<!you )(?<!us )(?<!they )both(?!\s+(?:walls?|open|blocked|hidden|closed|free|clear|have|has|are|of|plans|routes|paths|agents|our|your|options|ways|directions|see|show|look))|all good|all set|all of it|the whole (?:plan|sequence|route|path|thing)|the (?:full|entire) plan|every step|all (?:the )?(?:steps|moves)|let'?s execute|execute (?:it|them|the plan)|as (?:written|proposed|planned|listed|suggested)|(?:executing|following) (?:the|your|this) (?:plan|table|list|route|sequence)|works|works for me|fine by me|fine with me|sounds fine)\b|好的|同意|可以|是的|没问题"
    r"|👍|✅|✔|☑|👌|🆗|🙌|💯|🤝|✓)",
    re.IGNORECASE,
)

# "Yes, (1,1) is open. Let's do it.": more than an answer to a question about the map
FIRM_ACCEPT = re.compile(
    r"\b(?:let'?s do (?:it|that|this|so)|agreed|i agree|sounds good|deal|go ahead|let'?s go(?:\s+(?:with|for)\s+(?:it|that))?\s*[.!]|do it)\b",
    re.IGNORECASE,
)

# Words that accept only where they stand alone ("Go.", "Perfect!"), not inside a proposal ("let's go down").
ACCEPT_WEAK = re.compile(
    r"^\W*(?:go|proceed|onward|let'?s go|done|it is|fine|good|great|nice|cool|perfect|excellent|fair (?:point|enough)|correct|true)\b\s*(?:[.!,;:]|$)",
    re.IGNORECASE,
)

ACCEPT_AT_END = re.compile(
    r"(?:[-—,:]|\s)\s*(?:agreed|ok|okay|yes|confirmed|deal|sure)\W*$", re.IGNORECASE
)  # "down, and right three more — agreed."

FINE_AT_END = re.compile(r"\s(?:fine|good|ok|okay)\W*$", re.IGNORECASE)  # "e2, e3 fine."

# "Agree down." accepts the move; "I agree down is a wall" agrees with a statement.
NOT_ACCEPT = re.compile(
    r"\b(?:agreed that|agree (?:that|with you that|on(?!\s+(?:all|both|those|these|the\s+(?:two|three|four|five|six|seven|eight|\d|whole|full|plan)))|we|we're|we are|you're|you are|it's|it is|this|the|(?:down|up|left|right)\b(?!\s*(?:[.!,;]|$)))\b|not (?:ok|okay|sure|good|fine|agreed)|(?:is|are|was)\s+confirmed|(?:understood|i\s+understand)\s+(?:your|the|that|why)|(?:need|needs|have|has|got|must|should|want|wants|try|trying|going) to agree|(?:let'?s|can we|could we|we should|we must) agree|if you(?:'re| are) sure|(?:agree|agreed|accept|confirm|ok)\s*[:=]\s*(?:no|false)|no good|not a good|don't agree|do not agree|disagree|agree\?|i'?m not sure)\b",
    re.IGNORECASE,
)

# "No" rejects as an interjection ("No.", "No, ...", "No - down"), not as a
# determiner ("No wall there.", "no problem"); "wait", "hold on", "scratch that" take a move back.
REJECT = re.compile(
    r"(?:^\W*(?:(?:agree|agreed|accept|confirm|ok)\s*[:=]\s*(?:no|false|n)\b|no(?=\s*(?:[,.!;:—–-]|$)|\s+(?:i|we|you|that|this|it|let'?s|not|way|thanks|sorry)\b)|nope|nah|negative|stop)\b"
    r"|\bwait\b(?=\s*[,.!;:—–-])|\bhold (?:on|off)\b|\bscratch that\b|\b(?:disagree|reject|rejected|refuse|hesitant|reluctant|wary of|not keen|not convinced|(?:must |have to |'ll |will )?(?:respectfully )?decline|don't agree|do not agree|not agree|instead|rather|not yet|let'?s not|bad idea|not a good idea|wrong|incorrect|mistake|won't work|doesn't work|not possible|impossible|invalid|can't do that|cannot do that)\b|❌|🚫|👎|⛔)",
    re.IGNORECASE,
)

WALL = re.compile(
    r"🧱|\b(?:wall|walls|blocked|#|obstacle|dead[\s-]end|impassable|can't go|cannot go|can not go|not open|off the (?:grid|map|board)|out of bounds)\b|#",
    re.IGNORECASE,
)

PROPOSAL_MARKER = re.compile(
    r"\b(?:let'?s|lets|let us|shall|should|propose|proposal|counter-proposal|suggest|suggestion|how about|what about|what if|try|go|move|step|head|take|proceed|continue|plan|i'?ll|we'?ll|will|vote|could we|can we|why don't we|next|need to|must|have to|want to|move:|action|direction)\b",
    re.IGNORECASE,
)

ARRIVAL = re.compile(
    r"\b(?:now|made it|arrived|reached|landed|done|here we are)\b|^\W*at\b"
    r"|^\W*(?:that|this)\s+(?:puts|brings|leaves|gets|takes)\s+us\b",
    re.IGNORECASE,
)  # "We're at (1,3) now.", "At (1,1).", "That puts us at (2,6).": the position reached, as a fact

ALONE = re.compile(
    r"^\W*(?:(?:ok|okay|so|now|well|good job|great)\W+)?(?:i'?m|i am|i'?ve|i have|i)\s+(?:now\s+|still\s+|just\s+)?(?:at|in|on|reached|arrived|moved|went|got|am)\b",
    re.IGNORECASE,
)  # "I'm at (0,3) now.": where the speaker alone is; it does not carry out a joint move

NEW_PROPOSAL = re.compile(
    r"\b(?:i propose|i suggest|i'?d suggest|i'?d propose|my proposal|proposal|counter-proposal|how about|what about|please|next move|next step)\b",
    re.IGNORECASE,
)

AGAIN_AFTER = re.compile(r"\s*(?:again|once more|one more time)\b", re.IGNORECASE)

NOW_NEXT = re.compile(
    r"\W*(?:now|next)\b(?!\s+(?:at|in|on)\b)", re.IGNORECASE
)  # "Now: down." after an agreed move is the next one

NEW_AGAIN = re.compile(r"\b(?:again|another|once more|one more|next)\b", re.IGNORECASE)

GOAL_LABEL = re.compile(
    r"(?<!next )(?<!sub)(?<!sub-)\b(?:goal|exit)\s*(?:cell|position)?\s*(?:\([^()]{0,3}\)\s*)?[:=]\s*\**\s*$",
    re.IGNORECASE,
)  # "Goal: (5,2)", not "Next goal: (0,1)"

GOAL_EARLIER = re.compile(
    r"\b(?:the goal|goal is|exit|target)\b(?!.*\b(?:the goal|goal is|exit|target)\b)",
    re.IGNORECASE | re.DOTALL,
)

WHICH_BLOCKED = re.compile(
    r"\s*,?\s*(?:which|that|it)\s+(?:is|looks|seems|appears)\s+(?:like\s+)?(?:a\s+)?(?:wall|blocked|#)",
    re.IGNORECASE,
)

QUESTION_BREAK = re.compile(
    r"[✓✔✅👍👌]|\s[-–—]\s|;|\.\s|\band (?:then )?\w+ (?:again|once more)\b|\s(?:now|then|next)\s+\w"
)  # "Right - and right again?": only the second asks

ENDORSED_AFTER = re.compile(
    r"\s*(?:is|sounds|seems|looks|works)\s+(?:fine|good|ok|okay|great|perfect|right(?!\s+(?:below|above|next|beside|under|there|here|of|after|before|at|on)\b)|best|the (?:best|right) (?:move|choice|option))\b(?![^.;!?]{0,16}\bbut\b)",
    re.IGNORECASE,
)

HISTORY = re.compile(
    r"\b(?:summar\w*|so far|our path|path so far|we have moved|we'?ve moved|we moved|history|recap|moves? made)\b",
    re.IGNORECASE,
)

# "What about (2,1)? It's hidden for me.": the question asks what the partner sees there
UNSEEN_BY_ME = re.compile(
    r"^\W*(?:it'?s|it is|that'?s|that one is)\s+(?:hidden|unknown|a \?|not visible)\b|^\W*i (?:can'?t|cannot) see it\b",
    re.IGNORECASE,
)

MAP_QUESTION = re.compile(
    r"\b(?:open|wall|blocked|free|clear|see|map|hidden|what'?s|what is|where)\b", re.IGNORECASE
)

# "Does that look clear on your side?": a question about the proposal itself ("that", "this") asks
# the partner to agree to it, unlike a question about a cell ("Is (1,0) open for you?").
ABOUT_PROPOSAL = re.compile(
    r"^\W*(?:does|do|is|would|will|can|could)\s+(?:that|this)(?:\s+(?:move|step|plan|route|path|one))?"
    r"\s+(?:look|seem|sound|work|match|fit|agree|check out|line up|is|be)\b",
    re.IGNORECASE,
)

OPEN_AFTER = re.compile(r"\s*(?:open|free|clear|blocked|a wall|walkable|passable|hidden)\b", re.IGNORECASE)

CHALLENGE = re.compile(r"\b(?:why|sure|really|open|wall|blocked|what|how come|certain)\b", re.IGNORECASE)

NEG_AFTER = re.compile(
    r"\W*(?:i'?m|i am|we'?re|we are)\s+(?:not sure|unsure)\b|\s*(?:(?:is\s+|are\s+|would\s+|will\s+)?(?:not|no|never|isn't|aren't|won't|wouldn't)|(?:i|we)\s+(?:can'?t|cannot|don'?t|do not)\s+(?:see|confirm|go|do|agree))\b",
    re.IGNORECASE,
)

# "If (5,3) is open, then right right." waits on the condition; "If (1,0) is open, let's go down
# twice and then right." is a proposal made on a condition the partner can answer.
IF_THEN = re.compile(
    r"\W*if\b(?!\s+(?:you|that|this|it|everything)\s+(?:agree|agrees|works?|sounds|is ok|'s ok|is fine|suits))(?:(?!,\s*(?:let'?s|we|i|go|move)\b)[^.?!;])*?\bthen\b",
    re.IGNORECASE,
)

# "Then if (2,5) and (3,5) are open we go right once more ...": a plan that waits on its condition
IF_OPENER = re.compile(
    r"\W*(?:(?:then|and|so|but)\s+)?if\b(?!\s+(?:you|that|this|it|everything)\s+(?:agree|agrees|works?|sounds|is ok|'s ok|is fine|suits))",
    re.IGNORECASE,
)
# "If (1,0) is open, let's go down", "If you see it open, fine: right": committed despite the "if"
IF_COMMITS = re.compile(
    r"\b(?:let'?s|let us|i propose|i suggest|i'?d suggest|please|shall we|fine|ok|okay|agreed|sure|yes)\b",
    re.IGNORECASE,
)

DEFERRED = re.compile(
    r"[^.;!?,]{0,20}?\b(?:i'?ll|we'?ll|let'?s|we can|i can)\s+(?:confirm|decide|check|see|talk|discuss|think)\b",
    re.IGNORECASE,
)

REASON = re.compile(r"^\W*(?:because|since|as|given|so that|seeing)\b", re.IGNORECASE)

CLAIM_AFTER = re.compile(
    r"\s*(?:is|=|:)?\s*(?:us|where we are|our (?:current )?(?:position|cell|location|spot)|me|my position|current position|here)\b"
    r"|\s*(?:,\s*)?(?:as|is|=)\s+(?:the\s+)?(?:top[- ]left|start|starting (?:cell|point|position))\b|\s*,?\s*where we (?:start|are)\b",
    re.IGNORECASE,
)

SPLIT_UP = re.compile(
    r"\b(?:split up|split|splitting|let'?s split|on my own(?! (?:map|grid|view|side|copy|board))|by myself|on your own(?! (?:map|grid|view|side|copy|board))|by yourself|separately|individually|each explore|you explore|explore (?:alone|separately))\b"
    r"|\bi'?(?:ll| will)\s+(?:go|take|explore|head)\b.*\byou\s+(?:go|take|explore|head)\b",
    re.IGNORECASE,
)

REGROUP = re.compile(
    r"\b(?:regroup|rejoin|together again|meet (?:up|back|again)|back together|join (?:you|me))\b",
    re.IGNORECASE,
)  # agents who split up move jointly again

LIST = re.compile(r"\n[ \t]*(?:\d{1,2}[.)]|[-*•+|]|(?:step|move)\s*\d{1,2})", re.IGNORECASE)

THERE = re.compile(
    r"^\W*(?:go|move|proceed|shall we|ok to go|can we go|should we go|let'?s go|go there|move there)\W*$|\b(?:go|move|head|step|proceed|take)\s+(?:there|to it|to that (?:cell|one|square)|it)\b|\b(?:take|try) (?:it|that(?: one| cell)?)\b",
    re.IGNORECASE,
)

GOAL_NAMED_AFTER = re.compile(r"\s+(?:the|our)\s+(?:goal|exit)\b", re.IGNORECASE)  # "Is (4,4) the goal?"

GOAL_INFO = re.compile(r"\s*(?:is|=|:|是)\s*(?:the\s+)?(?:goal|\*|exit|finish|target|终点)", re.IGNORECASE)

# "The goal is in the fourth row, third column": the goal stated, so a move there is on offer
GOAL_IS = re.compile(r"\b(?:goal|exit|target)\s+is\s+(?:at|in|on)?\s*(?:the\s+)?(?:cell\s+)?$", re.IGNORECASE)

# "the goal is at position (3, 3)", "Goal `*`: (3, 0)": a cell named as the goal (evidence for the scheme)
GOAL_NAMED_BEFORE = re.compile(
    r"\b(?:goal|exit|finish)\W{0,5}(?:is\s+)?(?:located\s+)?(?:at|in|on)?\s*(?:the\s+)?(?:cell|position|square)?\s*[:=]?\s*$",
    re.IGNORECASE,
)

ONLY_FIRST = re.compile(
    r"\b(?:only|just)\b[^.?!]{0,20}?\bfirst\b(?:\s+(?P<n>two|three|2|3))?|\bfirst\s+(?:step|move|one)\s+only\b|\bone\s+(?:step|move\s+)?at\s+a\s+time\b"
    r"|\bsteps?\s*(?:1|one)\s*(?:and|&|-|to|through)\s*(?P<m>[2-5]|two|three|four|five)\b|\bstep\s*(?:1|one)\s+(?:only|agreed|ok)\b"
    r"|\b(?:the|those|these)\s+first\s+(?P<k>two|three|four|five|[2-5])\b|\b(?:do|take|make|execute)\s+(?:the\s+)?first\s+(?:step|move|one)\b",
    re.IGNORECASE,
)

UNTIL_BEFORE = re.compile(
    r"\b(?:as far as|until|till|through to|all the way to)\s*(?:the\s+)?(?:cell\s+)?$", re.IGNORECASE
)  # "Go as far as (2,1)", "OK until (2,1)": a plan accepted up to that cell

FALLBACK = re.compile(
    r"(?:otherwise|else|or else)\b", re.IGNORECASE
)  # "..., otherwise down": not on the table

FALLBACK_BEFORE = re.compile(
    r"\b(?:otherwise|or else)\b[\s,]*(?:(?:we|i|you|can|could|should|will|'ll|just|go|move|head|step|let'?s)\s+){0,4}$",
    re.IGNORECASE,
)  # "..., otherwise, we can go right": the fallback, not the proposal

LATER = re.compile(
    r"^\W*(?:once|when|whenever|as soon as|after)\s+(?:we|we'?re|i|i'?m|you)\b[^,;.!?]*[,;]", re.IGNORECASE
)  # "Once we're at (1,1), we go down.": a move for later, not a proposal now

REPEAT = re.compile(
    r"^\W*(?:(?:and|yes|ok|okay|sure|yep)\W+)?(?:(?:the\s+)?same(?:\s+(?:as before|again|move|direction|one|thing))?"
    r"|again|once more|one more time|repeat(?:\s+(?:that|it))?|(?:go|move|do it|let'?s go)\s+(?:again|once more))"
    r"(?:\W+(?:ok|okay|yes|please|then|too|again))?\W*$",
    re.IGNORECASE,
)  # "Again?", "Same as before?", "Once more, ok.": the last move, once more

OR_OPENER = re.compile(r"\W*or\b", re.IGNORECASE)  # "Down? Or right?": two options, neither proposed

ONLY_DIRECTION = re.compile(
    r"\b(?:just|only)\s+the\s+(?P<d>up|down|left|right)s\b", re.IGNORECASE
)  # "just the downs for now": the plan's leading downs are accepted

AND_FURTHER = re.compile(
    r"\band\s+(?:then\s+)?(?:one more|another|an extra)\b", re.IGNORECASE
)  # "Yes, and one more right after": accepts, then proposes a further move

COUNT_MORE = re.compile(
    r"\b(?:twice|two|three|four|five|six|[2-9])\s+more\b", re.IGNORECASE
)  # "continue right twice more", "two more downs": goes on with the message's own proposal
