"""The settlement documents (附件1–5), the replies and the disputes as plain data: what the forms say, no XML.

Amounts are `Decimal` yuan with two decimals; every item remembers the `line` it was read from (None when
built in memory) so that a finding can point a clerk at the line in the file as received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.domain.envelope import MessageType

EMPLOYEE, RESIDENT = "1", "2"  # 人员类别 = insurance scheme: 职工, 居民


@dataclass(slots=True)
class Figures:
    """The claim figures of one column (a care-service type, or the 合计 when `service_type` is None)."""

    service_type: str | None
    visits: int  # 总人次: number of statements
    days: int  # 总天数: sum of 待遇享受天数
    total_cost: Decimal  # 费用总额
    self_paid: Decimal  # 个人自费金额
    covered: Decimal  # 纳入统筹金额
    co_pay: Decimal  # 个人自付金额
    claimed: Decimal  # 申请拨付金额 (the fund's part)


@dataclass(slots=True)
class ClaimRow(Figures):
    """One column of 附件1; 附件3's totals."""

    claimed_in_words: str  # 申请拨付金额（大写）
    line: int | None = None


@dataclass(slots=True)
class SettledRow(Figures):
    """One column of 附件5; 附件4's totals."""

    deducted: Decimal  # 审核扣款金额
    supplemented: Decimal  # 补拨金额
    paid: Decimal  # 实拨金额
    paid_in_words: str | None  # 实拨金额（大写）: on totals only
    line: int | None = None


@dataclass(slots=True)
class ClaimScheme:
    """One page of 附件1: one insurance scheme's columns and their 合计."""

    category: str  # EMPLOYEE or RESIDENT
    lines: list[ClaimRow]
    total: ClaimRow
    line: int | None = None


@dataclass(slots=True)
class SettledScheme:
    """One page of 附件5."""

    category: str
    lines: list[SettledRow]
    total: SettledRow
    line: int | None = None


@dataclass(slots=True)
class FacilityClaim:
    """附件1 定点长护服务机构费用申请单 (A1)."""

    facility_code: str
    facility_name: str
    serial: str
    period: str  # YYYY-MM
    schemes: list[ClaimScheme]
    prepared_by: str  # 制表人
    reviewed_by: str  # 复核人
    prepared_by_unit: str  # 制表单位
    prepared_at: date  # 制表时间
    line: int | None = None

    type = MessageType.A1


@dataclass(slots=True)
class PersonStatement:
    """附件2 个人结算单 (A2): one person, one facility, one care-service type, one month."""

    facility_code: str
    facility_name: str
    facility_level: str | None  # 医疗机构等级
    serial: str
    period: str
    name: str
    sex: str
    id_type: str
    id_number: str
    person_category: str
    disability_level: str
    insured_city: str  # 参保地
    residence_city: str  # 居住地
    service_type: str
    start_date: date
    end_date: date
    benefit_days: int  # 待遇享受天数
    total_cost: Decimal
    self_paid: Decimal
    covered: Decimal
    fund_paid: Decimal  # 统筹支付金额
    co_pay: Decimal
    personal_burden: Decimal  # 个人负担合计
    prepared_by_unit: str
    prepared_at: date
    late: bool | None = None  # 补报 (第二十四条): fees of an earlier month carried by a later month's claim
    line: int | None = None

    type = MessageType.A2


@dataclass(slots=True)
class CityClaim:
    """附件3 市费用申请单 (A3): the residence city's claim to one insured city, with its A1 forms and A2
    statements."""

    agency_code: str
    agency_name: str
    serial: str
    period: str
    residence_city: str
    insured_city: str
    totals: ClaimRow
    first_reviewer: str  # 初审人
    reviewer: str  # 审核人
    checker: str  # 复核人
    prepared_by_unit: str
    prepared_at: date
    facility_claims: list[FacilityClaim]
    statements: list[PersonStatement]
    nil: bool = False  # 零申报: no fees this month (no A1, no A2, Totals all 0)
    line: int | None = None

    type = MessageType.A3


@dataclass(slots=True)
class SignOff:
    """One city's 初审/审核/复核 and its agency's stamp (章) on 附件4."""

    first_reviewer: str
    reviewer: str
    checker: str
    unit: str


@dataclass(slots=True)
class Adjustment:
    """One person's part of an A4's 审核扣款 and 补拨, so that the cities can reconcile person by person."""

    statement_serial: str  # 流水号 of the A2
    id_number: str
    deducted: Decimal
    supplemented: Decimal
    reason: str
    line: int | None = None


@dataclass(slots=True)
class CitySettlement:
    """附件4 市费用结算单 (A4): the insured city's settlement of one A3."""

    agency_code: str
    agency_name: str
    serial: str
    period: str
    claim_serial: str  # 流水号 of the A3 settled
    insured_city: str
    residence_city: str
    totals: SettledRow
    deduction_note: str | None  # 审核扣款说明
    supplement_note: str | None  # 补拨金额说明
    residence_sign_off: SignOff
    insured_sign_off: SignOff
    prepared_at: date
    adjustments: list[Adjustment] | None = None
    line: int | None = None

    type = MessageType.A4


@dataclass(slots=True)
class FacilitySettlement:
    """附件5 定点长护服务机构费用结算单 (A5): the residence city's settlement with one facility."""

    facility_code: str
    facility_name: str
    serial: str
    period: str
    insured_city: str
    settlement_serial: str  # 流水号 of the A4 this follows
    schemes: list[SettledScheme]
    deduction_note: str | None
    supplement_note: str | None
    first_reviewer: str
    reviewer: str
    checker: str
    prepared_by_unit: str
    prepared_at: date
    line: int | None = None

    type = MessageType.A5


@dataclass(slots=True)
class Ack:
    delivered_to: str  # area code of the city the message went to
    note: str | None = None

    type = MessageType.ACK


@dataclass(slots=True)
class NackError:
    code: str
    message: str
    line: int | None = None
    path: str | None = None


@dataclass(slots=True)
class Nack:
    errors: list[NackError]
    original_name: str | None = None

    type = MessageType.NACK


@dataclass(slots=True)
class Receipt:
    status: str  # "accepted" | "rejected"
    reason: str | None = None

    type = MessageType.RECEIPT


# 第三十一条: what a dispute is about (DisputeSubject) and how its answer ends it (DisputeOutcome).
SUBJECT_AMOUNT, SUBJECT_PERSON, SUBJECT_FACILITY = "amount", "person", "facility"
ACCEPTED, REJECTED, PARTIALLY_ACCEPTED = "accepted", "rejected", "partially_accepted"


APPLICANT_PERSON, APPLICANT_FACILITY = "person", "facility"


@dataclass(slots=True)
class DisputeApplication:
    """第三十一条: who applied to the residence agency (居住地经办机构), and when: the 15 working days count from
    `applied_on`. A person by the ID number only (the gateway keeps and shows a keyed hash of it)."""

    applicant: str  # APPLICANT_PERSON | APPLICANT_FACILITY
    id_type: str | None
    id_number: str | None
    facility_code: str | None
    facility_name: str | None
    applied_on: date
    line: int | None = None


@dataclass(slots=True)
class Dispute:
    """A DISPUTE: one city objects to a document of its exchange with another (第三十一条). Statements are
    named by 流水号 only, never by name or ID number."""

    serial: str  # 流水号 of the dispute
    period: str  # 月份 of the disputed document
    residence_city: str
    insured_city: str
    disputed_type: str  # A1–A5
    disputed_serial: str  # 流水号 of the disputed document
    subject: str  # SUBJECT_*
    facility_code: str | None  # the facility, when the subject is one
    expected: Decimal  # what the disputing city finds due
    stated: Decimal  # what the disputed document states
    explanation: str
    statement_serials: list[str]
    raised_by: str  # 经办人
    unit: str  # 经办机构
    raised_at: date
    line: int | None = None
    application: DisputeApplication | None = None  # 第三十一条: raised for a person's or facility's application

    type = MessageType.DISPUTE


@dataclass(slots=True)
class DisputeAnswer:
    """A DISPUTE_ANSWER: the disputed city's answer, within 15 working days."""

    serial: str
    period: str
    residence_city: str
    insured_city: str
    dispute_serial: str  # 流水号 of the dispute answered
    outcome: str  # ACCEPTED | REJECTED | PARTIALLY_ACCEPTED
    corrected_amount: Decimal | None  # the amount now agreed (accepted, partially accepted)
    correction_serial: str | None  # 流水号 of the corrected document, when one follows
    explanation: str
    answered_by: str
    unit: str
    answered_at: date
    line: int | None = None

    type = MessageType.DISPUTE_ANSWER


@dataclass(slots=True)
class DisputeResult:
    """A DISPUTE_RESULT (第三十一条): the residence agency answered the applicant (反馈结果), within 15 working
    days of the application; sent to the insured city, naming the dispute. The insured city's review is its
    DISPUTE_ANSWER."""

    serial: str
    period: str
    residence_city: str
    insured_city: str
    dispute_serial: str
    outcome: str  # ACCEPTED | REJECTED | PARTIALLY_ACCEPTED
    corrected_amount: Decimal | None
    explanation: str
    answered_on: date  # 反馈日期
    answered_by: str
    unit: str
    line: int | None = None

    type = MessageType.DISPUTE_RESULT


# --- the money (第二十六条 payment, 第二十九条 refund of recovered fees) -----------------------------------------


@dataclass(slots=True)
class SettlementRef:
    """A settlement (附件4) named by a payment or a refund: its 流水号 and service month."""

    serial: str
    period: str
    amount: Decimal | None = None  # a payment: the part of it paid; a refund: None
    line: int | None = None


@dataclass(slots=True)
class PaymentAdvice:
    """PAYMENT 拨付通知 (第二十六条): the insured city (参保地) paid the residence city (居住地) `amount` on
    `value_date` for the settlements of month `period`; the residence city's RECEIPT is its 到账确认."""

    serial: str  # 流水号 of the advice
    period: str  # the service month whose settlements it pays
    insured_city: str  # payer
    residence_city: str  # payee
    amount: Decimal  # 拨付金额
    value_date: date  # 拨付日期 (the bank's value date)
    payer_reference: str  # the insured city's own reference (付款凭证号)
    payee_reference: str | None  # the residence city's reference, when it gave one (收款参考号)
    settlements: list[SettlementRef]  # the 附件4 paid, each with the part paid
    note: str | None
    prepared_by: str  # 经办人
    unit: str  # 经办机构（章）
    prepared_at: date
    line: int | None = None

    type = MessageType.PAYMENT


@dataclass(slots=True)
class RecoveredFee:
    """One person's fees of one service month recovered from the facility (追回)."""

    name: str
    id_type: str
    id_number: str
    month: str  # the service month the fees were paid for
    amount: Decimal
    statement_serial: str | None = None  # 流水号 of the 附件2, when known
    line: int | None = None


@dataclass(slots=True)
class RecoveryRefund:
    """REFUND 追回费用退回 (第二十九条): the residence city recovered fees a facility was paid for violations
    and returns them to the insured city, naming the settlements (附件4) they correct."""

    serial: str
    period: str  # the (latest) service month whose fees are recovered: reconciled with that month's settlements
    residence_city: str  # payer of the refund
    insured_city: str  # payee
    facility_code: str
    facility_name: str
    items: list[RecoveredFee]
    total: Decimal  # 合计 = sum of the items
    reason: str  # 追回原因
    settlements: list[SettlementRef]  # the 附件4 corrected
    value_date: date  # 退回日期
    payer_reference: str  # the residence city's own reference (退款凭证号)
    prepared_by: str
    unit: str
    prepared_at: date
    line: int | None = None

    type = MessageType.REFUND


# --- withdrawal (撤销) of a document sent in error, while no receipt has answered it --------------------------


@dataclass(slots=True)
class Withdrawal:
    """WITHDRAWAL 撤销: the sender of a claim or settlement (A1–A5) sent in error withdraws it before the receiver
    answered it; the envelope's InReplyTo names the withdrawn message (id and SHA-256)."""

    serial: str  # 流水号 of the withdrawal
    period: str  # 月份 of the withdrawn document
    residence_city: str
    insured_city: str
    withdrawn_type: str  # A1–A5
    withdrawn_serial: str  # its 流水号
    withdrawn_revision: int  # the revision withdrawn
    reason: str  # 撤销原因
    withdrawn_by: str  # 经办人
    unit: str  # 经办机构（章）
    withdrawn_at: date
    line: int | None = None

    type = MessageType.WITHDRAWAL


MoneyDocument = PaymentAdvice | RecoveryRefund
Attachment = FacilityClaim | PersonStatement | CityClaim | CitySettlement | FacilitySettlement
Reply = Ack | Nack | Receipt
DisputeDocument = Dispute | DisputeAnswer | DisputeResult
Document = Attachment | Reply | DisputeDocument | MoneyDocument | Withdrawal
