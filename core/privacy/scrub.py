"""Personal information found in free text (article 20): names in context, ID-card numbers,
phones, e-mail addresses, and building and room numbers.

One set of patterns serves two purposes. Text that leaves for the public (Open311, the
citizen's tracking page) is `published`: every finding is removed or replaced by a label.
A log line is `for_log`: phones, ID numbers and e-mail addresses are masked so that an
operator can still tell two of them apart, and names and addresses stay (a log of
"华侨路12号" helps; detecting names in English log events would only mangle them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Replace = Callable[[re.Match[str]], str]

# The most common family names (about nine in ten people carry one), and the compound ones.
_SINGLE = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫严段雷侯龙史陶"
    "黎贺顾毛郝龚邵万钱覃武戴莫孔汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申耿"
    "关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍"
    "华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米"
    "柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_COMPOUND = (
    "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|澹台|轩辕|端木|"
    "南宫|呼延|独孤|万俟|闻人|西门|赫连|百里"
)
SURNAME = f"(?:{_COMPOUND}|[{_SINGLE}])"
# A given name is one or two characters; a verb or particle after the first ends it, so
# "来电人王明投诉" loses "王明" and keeps "投诉".
_GIVEN = r"[\u4e00-\u9fff](?:(?![投反称来说表要请的在于向对到和与及是也已等])[\u4e00-\u9fff])?"
_NAME_CONTEXT = (
    "来电人|来电者|市民|姓名|联系人|报告人|反映人|投诉人|举报人|求助人|当事人|业主|户主|租户|"
    "我叫|名叫|本人"
)
NAME_IN_CONTEXT = re.compile(rf"({_NAME_CONTEXT})([:：\s]*)({SURNAME}{_GIVEN})")
_TITLES = "先生|女士|小姐|师傅|阿姨|老师|大爷|大妈"
NAME_WITH_TITLE = re.compile(rf"{SURNAME}[\u4e00-\u9fff]{{0,2}}?({_TITLES})")

# 18-digit resident ID numbers: region, birth date, serial, check character.
ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])([1-9]\d{5})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
    r"(\d{3})([0-9Xx])(?![0-9A-Za-z])"
)
ID_CONTEXT = re.compile(r"(?:身份证|证件|身份号|公民身份号码|ID)[号码]*[:：\s(（]*$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
LONG_NUMBER = re.compile(r"(?<!\d)\d{15,}(?!\d)")  # bank cards, old 15-digit IDs, accounts
# Mainland mobiles (+86 optional, spaced or dashed) and landlines with an area code.
PHONE = re.compile(
    r"(?<!\d)(?:(?:\+|00)86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)"
    r"|(?<!\d)(0\d{2,3}-?)\d{3,4}(\d{4})(?!\d)"
)
PHONE_IN_CONTEXT = re.compile(r"(电话|手机|座机|联系方式|TEL|Tel|tel)([:：\s]*)\d{7,8}(?!\d)")
EMAIL = re.compile(
    r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*[@＠]([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
# Building detail after a road: 12号, 3栋, 2单元, 502室, 3-502; the road itself stays.
_NUMBER = r"[0-9０-９一二三四五六七八九十百零〇甲乙丙丁A-Za-z]{1,6}"
_DETAIL = r"(?:号院|号楼|号(?!线)|栋|幢|座|单元|层|楼(?![上下道梯房])|室)"
BUILDING = re.compile(
    rf"(?<!月)(?<![0-9A-Za-z])(?:{_NUMBER}\s*{_DETAIL}\s*)+(?:[0-9０-９]{{1,5}}(?![0-9]))?"
    r"|(?<![\d\-])\d{1,3}(?:[-－]\d{1,4}){1,2}(?:室)?(?![\d\-])"
)


def id_checksum_ok(number: str) -> bool:
    """GB 11643: the 18th character checks the first 17."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _is_id_card(m: re.Match[str]) -> bool:
    """A valid number anywhere, or any ID-shaped number that the text calls one."""
    before = m.string[max(0, m.start() - 12) : m.start()]
    return id_checksum_ok(m.group(0)) or bool(ID_CONTEXT.search(before))


def _only_ids(replace: Replace) -> Replace:
    return lambda m: replace(m) if _is_id_card(m) else m.group(0)


@dataclass(frozen=True)
class Rule:
    """One kind of finding: how it is published, and how (if at all) a log line masks it.

    `hint` is cheap to search for and present in every match: text without it is skipped,
    which keeps a log line without digits, or a description without any, from paying for
    patterns that try every position.
    """

    kind: str
    hint: re.Pattern[str]
    pattern: re.Pattern[str]
    publish: Replace
    log: Replace | None = None

    def apply(self, text: str, replace: Replace) -> str:
        return self.pattern.sub(replace, text) if self.hint.search(text) else text


def _mask_phone(m: re.Match[str]) -> str:
    if m.group(1):
        return f"{m.group(1)}****{m.group(2)}"
    return f"{m.group(3)}****{m.group(4)}"


# In this order: an ID number must go before a phone could be read inside it, and an e-mail
# before its digits look like anything else.
_DIGIT = re.compile(r"\d")
RULES = (
    Rule(
        "email",
        re.compile("[@＠]"),
        EMAIL,
        lambda m: "[邮箱]",
        lambda m: f"{m.group(1)}***@{m.group(2)}",
    ),
    Rule(
        "id_card",
        _DIGIT,
        ID_CARD,
        _only_ids(lambda m: "[身份证号]"),
        _only_ids(lambda m: f"{m.group(1)}********{m.group(0)[-4:]}"),
    ),
    Rule("long_number", _DIGIT, LONG_NUMBER, lambda m: "[号码]"),
    Rule("phone", _DIGIT, PHONE, lambda m: "[电话]", _mask_phone),
    Rule(
        "phone_in_context",
        _DIGIT,
        PHONE_IN_CONTEXT,
        lambda m: f"{m.group(1)}{m.group(2)}[电话]",
    ),
    Rule(
        "name_in_context",
        re.compile(_NAME_CONTEXT),
        NAME_IN_CONTEXT,
        lambda m: f"{m.group(1)}{m.group(2)}[姓名]",
    ),
    Rule("name_with_title", re.compile(_TITLES), NAME_WITH_TITLE, lambda m: f"某{m.group(1)}"),
    Rule("building", re.compile(r"[号栋幢座单元层楼室]|\d[-－]\d"), BUILDING, lambda m: ""),
)


def published(text: str) -> str:
    """`text` as it may be shown to the public: every kind of finding taken out."""
    for rule in RULES:
        text = rule.apply(text, rule.publish)
    return text


def for_log(text: str) -> str:
    """`text` as a log line may carry it: phones, ID numbers and e-mails masked."""
    for rule in RULES:
        if rule.log is not None:
            text = rule.apply(text, rule.log)
    return text


def redact_log(
    _logger: object, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: phones, ID numbers and e-mails masked in every string value."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = for_log(value)
    return event
