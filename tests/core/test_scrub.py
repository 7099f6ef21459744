"""Personal information found in free text: what the public and the logs are left with."""

from __future__ import annotations

import pytest

from core.privacy.scrub import for_log, id_checksum_ok, published

# As the security review found them published (issue 10).
CALLER = "来电人王小明(身份证320102199001011234)投诉楼上住户…"
EMAIL = "wxm.2026@example.cn"
ADDRESS = "颐和路12号3栋502室"


def test_the_published_samples_lose_every_personal_detail() -> None:
    assert published(CALLER) == "来电人[姓名](身份证[身份证号])投诉楼上住户…"
    assert published(f"请回复 {EMAIL} 谢谢") == "请回复 [邮箱] 谢谢"
    assert published(ADDRESS) == "颐和路"  # the road stays, the door and the room go


def test_id_numbers_need_their_checksum_unless_the_text_calls_them_one() -> None:
    assert id_checksum_ok("11010519491231002X") and not id_checksum_ok("320102199001011234")
    assert published("号码11010519491231002X") == "号码[身份证号]"
    assert for_log("x 11010519491231002X") == "x 110105********002X"
    assert for_log("身份证：320102199001011234") == "身份证：320102********1234"
    # Without its checksum or a word for it, a log keeps an 18-digit number; the public never
    # sees a long number at all.
    assert for_log("trace 320102199001011234") == "trace 320102199001011234"
    assert published("卡号 6222021234567890123") == "卡号 [号码]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("联系 13912345678 或 139 1234 5678", "联系 [电话] 或 [电话]"),
        ("+86 139-1234-5678 找我", "[电话] 找我"),
        ("座机025-83451234", "座机[电话]"),
        ("电话83451234", "电话[电话]"),
        ("市民张丽娟反映路灯不亮", "市民[姓名]反映路灯不亮"),
        ("姓名：欧阳修，住在附近", "姓名：[姓名]，住在附近"),
        ("来电人王明投诉噪音", "来电人[姓名]投诉噪音"),
        ("王先生说李女士家漏水", "某先生说某女士家漏水"),
        ("宁海路5号楼2单元301门口", "宁海路门口"),
        ("北京西路3-502楼道堆物", "北京西路楼道堆物"),
        ("mail：ABC_x@mail.nju.edu.cn", "mail：[邮箱]"),
    ],
)
def test_published_text(text: str, expected: str) -> None:
    assert published(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "宁海路与颐和路交叉口垃圾堆放两天未清运",
        "12月3号在地铁3号线出口",
        "市民反映楼上两户住户噪音",
        "工单 CL20261129-000123 于 2026-11-29 10:30 受理，拨打12345",
        "井盖缺失约 2 天",
    ],
)
def test_what_is_not_personal_is_left_alone(text: str) -> None:
    assert published(text) == text
    assert for_log(text) == text
