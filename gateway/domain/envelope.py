"""The envelope's header: who sends what to whom, for which month, and what it answers.

Plain data, no XML: `gateway.documents.envelope` reads and writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MessageType(StrEnum):
    A1 = "A1"  # 定点长护服务机构费用申请单: a facility's claim, per scheme and care-service type
    A2 = "A2"  # 个人结算单: one person's statement
    A3 = "A3"  # 市费用申请单: the residence city's claim to one insured city (carries its A1 and A2)
    A4 = "A4"  # 市费用结算单: the insured city's settlement of a claim
    A5 = "A5"  # 定点长护服务机构费用结算单: the residence city's settlement with a facility
    ACK = "ACK"  # the gateway accepted and routed a message
    NACK = "NACK"  # the gateway refused a message, listing every broken rule
    RECEIPT = "RECEIPT"  # the receiving city's system took (or declined) a delivered message
    DISPUTE = "DISPUTE"  # 第三十一条: one city objects to a document the other sent it (or it sent)
    DISPUTE_ANSWER = "DISPUTE_ANSWER"  # the disputed city's answer: accepted, rejected, partially accepted
    DISPUTE_RESULT = "DISPUTE_RESULT"  # 第三十一条: the residence agency's answer to a person's or facility's application
    # --- entitlement documents (第十条, 第十五条, 第十七条): who is entitled to care where ---
    ENTITLEMENT = "ENTITLEMENT"  # 待遇享受通知 (第十七条): insured city → residence city; revised or ended later
    CHANGE_FILING = "CHANGE_FILING"  # 变更备案 / 派单 (第十五条): residence city → insured city
    ASSESSMENT_REQUEST = "ASSESSMENT_REQUEST"  # 委托评估 (第十条): insured city asks the residence city to assess
    ASSESSMENT_RESULT = "ASSESSMENT_RESULT"  # 委托评估结果 (第十条): residence city → insured city
    # --- the money (第二十六条, 第二十九条) ---
    PAYMENT = "PAYMENT"  # 拨付通知: the insured city paid the residence city for settlements (附件4)
    REFUND = "REFUND"  # 追回费用退回: the residence city returns fees recovered from a facility
    # --- corrections (issue 13) ---
    WITHDRAWAL = "WITHDRAWAL"  # 撤销: the sender withdraws a claim or settlement sent in error, still unanswered

    @property
    def is_attachment(self) -> bool:
        return self in ATTACHMENTS

    @property
    def is_dispute(self) -> bool:
        """A dispute or its answer: city to city like an attachment (routed, ACKed, delivered, receipted),
        but naming the message it is about in InReplyTo, and with no fixed direction."""
        return self in DISPUTES

    @property
    def is_money(self) -> bool:
        """A payment advice or a refund: city to city like an attachment, in a fixed direction, naming the
        settlements (附件4) it pays or corrects in its body."""
        return self in MONEY

    @property
    def is_entitlement(self) -> bool:
        """An entitlement document (第十条, 第十五条, 第十七条): not a form of the monthly cycle, but carried like
        one (fixed direction, routed, ACKed, delivered, receipted, superseded by a higher revision)."""
        return self in ENTITLEMENT_DOCUMENTS

    @property
    def is_city_document(self) -> bool:
        """Goes between an insured and a residence city in a fixed direction and names no other message:
        an attachment (A1–A5), an entitlement document, a payment or a refund."""
        return self in ATTACHMENTS or self in ENTITLEMENT_DOCUMENTS or self in MONEY

    @property
    def is_withdrawal(self) -> bool:
        """A withdrawal (撤销): city to city like a dispute, InReplyTo naming the withdrawn message, sent by that
        message's own sender to its receiver."""
        return self is MessageType.WITHDRAWAL

    @property
    def is_reply(self) -> bool:
        """ACK, NACK, RECEIPT: answers about a message's transport, not about its content."""
        return self in REPLIES

    @property
    def names_reference(self) -> bool:
        """Whether the header must carry InReplyTo: replies and disputes (city documents name what they are
        about in their body)."""
        return not self.is_city_document


ATTACHMENTS = frozenset({MessageType.A1, MessageType.A2, MessageType.A3, MessageType.A4, MessageType.A5})
DISPUTES = frozenset({MessageType.DISPUTE, MessageType.DISPUTE_ANSWER, MessageType.DISPUTE_RESULT})
REPLIES = frozenset({MessageType.ACK, MessageType.NACK, MessageType.RECEIPT})
MONEY = frozenset({MessageType.PAYMENT, MessageType.REFUND})

# Which way each attachment (and payment, refund) travels: the residence city (居住地) claims and settles with its facilities;
# the insured city (参保地) settles the claim. True: sent by the residence city to the insured city.
# Disputes have no entry: either city raises one, and its body names the two cities.
SENT_BY_RESIDENCE_CITY = {
    MessageType.A1: True,
    MessageType.A2: True,
    MessageType.A3: True,
    MessageType.A4: False,
    MessageType.A5: True,
    MessageType.PAYMENT: False,  # the insured city pays
    MessageType.REFUND: True,  # the residence city returns what it recovered
}

# The entitlement documents and their directions, apart from the settlement's table (the settlement calendar
# and reconciliation read SENT_BY_RESIDENCE_CITY as "the attachments and the money").
ENTITLEMENT_SENT_BY_RESIDENCE_CITY = {
    MessageType.ENTITLEMENT: False,
    MessageType.CHANGE_FILING: True,
    MessageType.ASSESSMENT_REQUEST: False,
    MessageType.ASSESSMENT_RESULT: True,
}
ENTITLEMENT_DOCUMENTS = frozenset(ENTITLEMENT_SENT_BY_RESIDENCE_CITY)


def sent_by_residence_city(kind: MessageType) -> bool:
    """Whether a city document of `kind` goes from the residence city (居住地) to the insured city (参保地)."""
    if kind in ENTITLEMENT_SENT_BY_RESIDENCE_CITY:
        return ENTITLEMENT_SENT_BY_RESIDENCE_CITY[kind]
    return SENT_BY_RESIDENCE_CITY[kind]


@dataclass(frozen=True, slots=True)
class Header:
    message_id: str
    type: MessageType
    sender: str  # area code
    receiver: str  # area code
    period: str  # service month, YYYY-MM
    serial: str  # 流水号 of the document
    revision: int  # 1 for the first issue; a higher one supersedes it
    created: datetime
    reply_to: str | None = None  # replies: id of the message answered
    reply_to_sha256: str | None = None  # replies: SHA-256 (hex) of the bytes answered

    @property
    def insured_city(self) -> str:
        """参保地 of a city document, read off its direction."""
        return self.receiver if sent_by_residence_city(self.type) else self.sender

    @property
    def residence_city(self) -> str:
        """居住地 of a city document, read off its direction."""
        return self.sender if sent_by_residence_city(self.type) else self.receiver

    @property
    def document_key(self) -> tuple[str, str, str, str, str]:
        """What revisions share: a higher revision of the same key supersedes the lower."""
        return (self.type.value, self.sender, self.receiver, self.period, self.serial)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.message_id,
            "type": self.type.value,
            "sender": self.sender,
            "receiver": self.receiver,
            "period": self.period,
            "serial": self.serial,
            "revision": self.revision,
            "created": self.created.isoformat(),
            "ref": self.reply_to,
            "ref_sha256": self.reply_to_sha256,
        }
