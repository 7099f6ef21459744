"""Every field cityloop stores, classified (article 20; GB/T 43697-2024 一般/重要/核心 data,
personal and sensitive personal information as PIPL arts. 4 and 28 define them).

The table below is the one place a field's class is decided; `core/privacy/masking.py` reads each
field's exposure rule to decide how it is shown to a viewer, and a test checks that every
column of every table is listed here, so a new column cannot go unclassified.
`python -m core.classification` prints the table as Markdown for docs/privacy.md.

Columns of the table: the field (`table.column`, several columns of a table joined by
commas; `table.payload[key]` for text an event's payload carries; `attachments[file]` for a
stored file's content), its level, 个人 when it is (or may hold) personal information, 敏感
when that information is sensitive, the exposure rule, and what the field holds.
"""

# ruff: noqa: E501 -- the table reads best one field per line, however wide its description.

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """GB/T 43697-2024's three levels."""

    GENERAL = "一般"
    IMPORTANT = "重要"
    CORE = "核心"


class Rule(StrEnum):
    """Who sees a field, and how (core/privacy/masking.py applies it)."""

    PUBLIC = "public"
    STAFF = "staff"
    TEXT = "text"
    LOCATION = "location"
    REPORTER = "reporter"
    CONTACT = "contact"
    TOKEN = "token"
    SECRET = "secret"
    AUDIT = "audit"


RULE_NAMES = {
    Rule.PUBLIC: "公开：任何人，包括 Open311",
    Rule.STAFF: "工作人员可见；不公开",
    Rule.TEXT: "工作人员可见；反映人同意后才公开，且去除个人信息；否则只公开中性摘要",
    Rule.LOCATION: "工作人员可见；反映人同意后才公开",
    Rule.REPORTER: "受理人和本辖区督办员可见完整信息（记入查看日志）；其他工作人员脱敏；不公开",
    Rule.CONTACT: "本单位人员、本辖区督办员和管理员可见完整信息（记入查看日志）；其他工作人员脱敏；不公开",
    Rule.TOKEN: "只给市民本人（凭查询码查询）；工作人员不可见",
    Rule.SECRET: "只存摘要，任何人不可见",
    Rule.AUDIT: "本辖区督办员可见",
}
# The rules that show personal information whole to some staff only: every such view is logged.
AUDITED = frozenset({Rule.REPORTER, Rule.CONTACT})


@dataclass(frozen=True)
class Classified:
    level: Level
    personal: bool
    sensitive: bool
    rule: Rule
    what: str

    @property
    def audited(self) -> bool:
        return self.rule in AUDITED


# field                                   level 个人 敏感 rule      what
TABLE = """
unit.id,name,level,parent_id,path,dept_type  一般 - - public    五级组织和部门：编号、名称、层级、路径
unit.is_demo                                 一般 - - staff     演示数据标记
user.id,role,unit_id,is_demo                 一般 - - staff     工作人员账号的编号、角色、单位
user.username,display_name                   一般 个人 - staff  工作人员的用户名和姓名
user.password_hash                           一般 - - secret    口令的加盐散列
user.disabled_at                             一般 - - staff     账号停用时间
apitoken.id,user_id,created_at               一般 - - staff     API 令牌的编号、持有人、签发时间
apitoken.prefix,expires_at,revoked_at        一般 - - staff     令牌的前几位（用于列出和吊销）、过期和吊销时间
apitoken.token_hash                          一般 - - secret    API 令牌的散列
web_sessions.id_hash,data                    一般 - - secret    登录会话编号的散列、会话数据（含 CSRF 令牌）
web_sessions.user_id,created_at,last_seen_at,expires_at,revoked_at,revoked_reason  一般 - - staff  登录会话的持有人和时间
web_sessions.address                         一般 个人 - staff  登录来源 IP 地址；界面不展示
security_events.id,at,action                 一般 - - staff     凭据变更记录：时间、动作
security_events.actor,target,reason          一般 个人 - staff  操作人、对象（用户名、令牌、客户端）及原因
category.key,name,kind,group_name            一般 - - public    事项目录（Open311 的服务）
category.working_time,limits,reminders       一般 - - public    处置时限和催办
category.owner_dept,keywords                 一般 - - public    权属部门类型、分类关键词
category.dedup_radius_m,dedup_window_hours   一般 - - public    重复派单判定的半径和时间窗
category.is_demo                             一般 - - staff     演示数据标记
cases.id,ticket,case_type,category,category_name  一般 - - public  工单号和事项类别
cases.status,district_id,street_id           一般 - - public    状态、所在区和街道
cases.assigned_unit_id,assigned_unit_name    一般 - - public    责任单位
cases.due_at,created_at,updated_at,closed_at 一般 - - public    受理、更新、期限和结案时间
cases.external_id,channel,priority,stage     一般 - - staff     外部编号、渠道、优先级、阶段
cases.location_unit_id,location_path         一般 - - staff     所在网格及其路径（比街道精确）
cases.overdue,escalation_level,last_seq      一般 - - staff     超期、升级层级、事件序号
cases.return_count,rework_count,extension_count  一般 - - staff  退单、返工、延期次数
cases.rating,request_kind,report_count       一般 - - staff     回访评价、诉求类型、报告数
cases.signal_count,direct_answer             一般 - - staff     传感器告警数、是否直接答复
cases.taken_by                               一般 个人 - staff  受理人用户名
cases.title,description                      一般 个人 敏感 text 反映人写的标题和描述：可能含姓名、身份证号、住址、健康等
cases.address                                一般 个人 - text   详细地址：可能是反映人住址
cases.lat,lon                                一般 个人 敏感 location 位置：市民在现场上报时即其精准定位
cases.reporter_name,reporter_phone           一般 个人 - reporter 反映人姓名、电话
cases.tracking_token                         一般 - - token     市民查询码
linked_reports.ticket,case_id,case_ticket,linked_at  一般 - - public 关联报告的工单号、所并入的工单、并入时间
linked_reports.channel,request_kind          一般 - - staff     渠道、诉求类型
linked_reports.split_at                      一般 - - staff     拆分时间
linked_reports.linked_by,split_by,taken_by   一般 个人 - staff  合并人、拆分人、受理人用户名
linked_reports.split_reason                  一般 个人 - staff  拆分原因（工作人员填写）
linked_reports.title,description             一般 个人 敏感 text 反映人写的标题和描述
linked_reports.address                       一般 个人 - text   详细地址
linked_reports.lat,lon                       一般 个人 敏感 location 位置
linked_reports.reporter_name,reporter_phone  一般 个人 - reporter 反映人姓名、电话
linked_reports.tracking_token                一般 - - token     市民查询码
case_events.id,case_id,seq,at,action         一般 - - staff     审计记录：事件、时间
case_events.actor_role,actor_unit_id,from_status,to_status  一般 - - staff  操作人角色、单位、状态变化
case_events.actor_username,actor_name        一般 个人 - staff  操作人用户名和姓名
case_events.reason,payload                   一般 个人 - staff  原因和事件内容（工作人员填写，可能提及居民）
case_events.prev_hash,hash                   一般 - - staff     审计链：上一事件和本事件的散列（防篡改）
case_events.payload[note]                    一般 个人 - staff  处置/反馈说明；市民凭查询码只看到去除个人信息后的处理结果
case_events.payload[answer]                  一般 个人 - staff  咨询的直接答复；同上
case_events.payload[resource],payload[evidence]  一般 - - staff  调派的力量装备名称、证据文件名
inbox_items.id,unit_id,case_id,ticket,seq,kind,created_at,read_at  一般 - - staff  待办消息
inbox_items.title,reason,read_by             一般 个人 - staff  消息标题（工单标题）、原因、已读人
whistles.id,case_id,ticket,round,kind,dept_id,dept_name  一般 - - staff  吹哨报到：轮次、被召集部门
whistles.blower_unit_id,blower_unit_name,district_id,street_id,step  一般 - - staff  吹哨单位、所在地、进度
whistles.summoned_at,sign_due,contact_due,report_due,due_at  一般 - - staff  各环节期限
whistles.signed_at,contacted_at,reported_at,signed_in_time,reported_in_time  一般 - - staff  报到时间
whistles.overdue,escalation_level,rating,rated_at,last_seq  一般 - - staff  超期、升级、评分
whistles.title,need,rating_note,closed_reason  一般 个人 - staff  工单标题、需求、评价、关闭原因（文字）
attachments.sha256,content_type,kind,size,has_thumbnail,uploaded_at  一般 - - staff  文件的散列、类型、大小
attachments.filename,uploaded_by             一般 个人 - staff  上传时的文件名、上传人
attachments.clean_copy                       一般 - - staff     是否另存了去除定位等元数据的副本
attachments[file]                            一般 个人 敏感 staff 照片和视频：可含人脸、车牌；原件的 EXIF 定位只给可见精确位置的人，其余人拿到去除元数据的副本
uploads.id,sha256,uploader_kind,size,created_at,attached  一般 - - staff  上传记录（配额、清理未关联文件）
uploads.uploader_id,address                  一般 个人 - staff  上传人（用户名或公众设备标识）及其 IP 地址；界面不展示
case_attachments.id,case_id,sha256,seq,added_at  一般 - - staff  工单的文件
case_attachments.added_by                    一般 个人 - staff  添加人用户名
devices.id,name,alarm_categories,active,is_demo  一般 - - staff  感知设备
devices.lat,lon,address                      重要 - - staff     城市监测设备的位置：汇总即城市运行监测网络的布设
devices.token_hash                           一般 - - secret    设备令牌的散列
alarm_streams.device_id,alarm_type,generation,ticket,last_at,count,forwarded  一般 - - staff  告警归并
open311_keys.id,name,created_at,active       一般 - - staff     Open311 客户端
open311_keys.key_hash                        一般 - - secret    api_key 的散列
teams.id,unit_id,name,specialty,active,is_demo  一般 - - staff  处置力量：队伍
teams.leader                                 一般 个人 - staff  队长姓名
teams.phone                                  一般 个人 - contact 队伍联系电话
people.id,unit_id,team_id,role,active,is_demo  一般 - - staff   处置力量：人员
people.name                                  一般 个人 - staff  人员姓名
people.phone                                 一般 个人 - contact 人员电话
equipment.id,unit_id,type,name,serial,status,note,is_demo  一般 - - staff  装备（车牌、编号、状态）
allocations.id,case_id,ticket,team_id,equipment_id,allocated_at,released_at  一般 - - staff  力量装备调派
allocations.allocated_by,released_by,reason,release_reason  一般 个人 - staff  调派人、释放人及原因
ticketcounter.day,value                      一般 - - staff     每日流水号
bulk_jobs.id,unit_id,action,filters,expected,created_at  一般 - - staff  批量督办：范围、操作、预览件数
bulk_jobs.created_by                         一般 个人 - staff  发起人用户名
bulk_jobs.reason                             一般 个人 - staff  督办原因（工作人员填写）
intake_keys.key,fingerprint,ticket,case_ticket,received_at,created_at  一般 - - staff  受理请求的幂等键、请求指纹、所得工单
intake_keys.scope                            一般 个人 - staff  幂等键的持有人（用户名、设备或公众）
publication_consents.ticket,publish,basis,recorded_at  一般 - - staff  反映人是否同意公开诉求内容
publication_consents.recorded_by             一般 个人 - staff  记录人用户名
personal_data_views.id,at,viewer_role,viewer_unit_id,subject_kind,subject_key  一般 - - audit  个人信息查看日志
personal_data_views.area_path,fields,route   一般 - - audit     所查看记录的辖区、字段、途径
personal_data_views.viewer_username          一般 个人 - audit  查看人用户名
notifications.id,case_id,seq,channel,kind,ticket,report_ticket,created_at  一般 - - staff  站外通知（邮件、短信）：所属工单和事件、渠道、类型
notifications.status,attempts,next_attempt_at,last_attempt_at,sent_at  一般 - - staff  发送状态、尝试次数和时间
notifications.recipient                      一般 个人 - staff  收件人（工作人员用户名，或反映人的工单号）
notifications.address                        一般 个人 - reporter 收件地址：反映人或工作人员的邮箱、手机号；界面不展示
notifications.last_error                     一般 个人 - staff  最近一次发送失败的原因（邮件服务器的答复可能含收件地址）
case_stages.case_id,n,stage,unit_id,started_at,ended_at,due_at,met,overdue  一般 - - staff  环节事实：环节、承办单位、起止时间、期限、是否按期
case_stages.reminders,escalations,returns,reworks,extensions  一般 - - staff  环节内催办、升级、退单、返工、延期次数
case_facts.case_id,category,channel,request_kind,status,district_id,street_id,unit_id,first_unit_id  一般 - - staff  工单事实：类别、渠道、状态、区街、承办和首派单位
case_facts.location_path                     一般 - - staff     所在网格路径（比街道精确）
case_facts.lat,lon                           一般 个人 敏感 location 位置（与工单相同）
case_facts.received_at,dispatched_at,accepted_at,feedback_at,closed_at,first_contact_at  一般 - - staff  各环节首次发生时间、首次联系市民时间
case_facts.accept_met,feedback_met,closed_on_time,overdue,voided,direct_answer,handling_minutes  一般 - - staff  按期签收、按时反馈、按期结案、超期、无效、直接答复、处置时长
case_facts.reminders,escalations,returns,reworks,extensions,whistles,callbacks  一般 - - staff  催办、升级、退单、返工、延期、吹哨、回访次数
case_facts.satisfaction,resolved,unreachable  一般 - - staff     回访结果：满意度、是否解决、联系不上
case_fact_months.grouping,month,place,key   一般 - - staff     工单事实按月汇总：分组方式、月份、所在街道路径、分组
case_fact_months.cases,response_n,response_d,resolution_n,resolution_d,satisfaction_n,satisfaction_d,closed_on_time_n,closed_on_time_d,accepted_in_time_n,accepted_in_time_d,feedback_on_time_n,feedback_on_time_d,rework_n,rework_d,overdue_n,overdue_d,returned_n,returned_d,extended_n,extended_d,supervised_n,supervised_d,whistled_n,whistled_d,minutes_n,minutes_sum  一般 - - staff  各月工单数、各项指标的分子和分母、已结案工单的办理时长条数与合计
case_fact_months.h0,h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h12,h13,h14,h15,h16,h17,h18,h19,h20,h21,h22,h23,h24,h25,h26,h27,h28,h29,h30,h31,h32,h33,h34,h35,h36,h37,h38,h39,h40,h41,h42,h43,h44,h45,h46,h47,h48,h49,h50,h51,h52,h53,h54,h55,h56,h57,h58,h59,h60,h61,h62,h63,h64,h65,h66,h67,h68,h69,h70,h71,h72,h73,h74,h75,h76  一般 - - staff  各月已结案工单按办理时长分段的条数
major_events.id,ticket,title,event_type,sub_type,grade,phase,received_at,last_seq  一般 - - staff  重大事件：编号、标题、类型、等级、阶段
major_events.district_id,lead_unit_id,stations,stations_late,tasks_open,linked  一般 - - staff  属地、牵头单位、进驻和任务情况、关联工单数
major_events.next_report_at,reports_late     一般 - - staff     下次报告时限、迟报次数
major_events.commander                       一般 个人 - staff  指挥长（工作人员姓名）
proactive_sources.proactive_ticket,source_ticket  一般 - - staff  未诉先办：主动工单及触发它的已办结工单
routing_overrides.id,category,area_unit_id,unit_id,accepted_at,revoked_at  一般 - - staff  派遣规则（学习所得）：类别、街道或区、首派单位、时间
routing_overrides.reason,revoke_reason        一般 - - staff  接受或撤销派遣规则的理由
routing_overrides.accepted_by,revoked_by      一般 个人 - staff  接受或撤销派遣规则的督办员
notification_preferences.user_id,channel,kinds,updated_at  一般 - - staff  工作人员订阅的站外通知：渠道、类型
notification_preferences.address             一般 个人 - contact 工作人员登记的通知邮箱或手机号
reporter_contacts.ticket,recorded_at         一般 - - staff     反映人留的邮箱所属的工单、登记时间
reporter_contacts.email                      一般 个人 - reporter 反映人的电子邮箱（用于告知查询链接和办理结果）
"""


def _parse(table: str) -> dict[str, Classified]:
    fields: dict[str, Classified] = {}
    for line in table.strip().splitlines():
        names, level, personal, sensitive, rule, what = line.split(maxsplit=5)
        row = Classified(Level(level), personal == "个人", sensitive == "敏感", Rule(rule), what)
        for name in _names(names):
            if name in fields:
                raise ValueError(f"{name} is classified twice")
            fields[name] = row
    return fields


def _names(spec: str) -> list[str]:
    """Names of a row: "cases.title,description" → cases.title, cases.description."""
    first, *more = spec.split(",")
    table = re.match(r"\w+", first)
    assert table is not None, spec
    return [first, *(f"{table.group(0)}.{column}" for column in more)]


FIELDS = _parse(TABLE)


def of(field: str) -> Classified:
    """The class of `field` ("cases.reporter_phone"); an unclassified field is a bug."""
    return FIELDS[field]


def markdown() -> str:
    """The table as docs/privacy.md shows it."""
    lines = [
        "| 字段 | 级别 | 个人信息 | 敏感个人信息 | 谁能看到 | 内容 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for line in TABLE.strip().splitlines():
        names, level, personal, sensitive, rule, what = line.split(maxsplit=5)
        lines.append(
            f"| `{names}` | {level} | {_yes(personal)} | {_yes(sensitive)} "
            f"| {RULE_NAMES[Rule(rule)]} | {what} |"
        )
    return "\n".join(lines)


def _yes(mark: str) -> str:
    return "是" if mark != "-" else ""


if __name__ == "__main__":
    print(markdown())
