"""The control catalogue: one entry per requirement of the manual, with a stable id.

Ids never change once released: reports, waivers and results.json refer to them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest


class Severity(enum.Enum):
    """What a control that does not hold does to the test item."""

    FAIL = "fail"
    WARNING = "warning"


class Artifact(enum.Enum):
    """What a control item audits: a file of the target, or what a host serves."""

    CSR = "csr"
    CERTIFICATE = "certificate"
    BUNDLE = "bundle"
    CHAIN = "chain"
    PRIVATE_KEY = "private_key"
    PFX = "pfx"


@dataclass(frozen=True)
class Control:
    """One requirement of the manual, as certgate checks it."""

    id: str
    title: str
    manual: tuple[str, ...]
    severity: Severity
    applies_to: tuple[Artifact, ...]
    remediation_en: str
    remediation_zh: str

    @property
    def citation(self) -> str:
        """The manual sections, as printed in reports: ``5.1.8, 5.2.5``."""
        return ", ".join(self.manual)


_CSR, _CERT = Artifact.CSR, Artifact.CERTIFICATE

CATALOGUE: dict[str, Control] = {
    c.id: c
    for c in (
        Control(
            "csr-format",
            "The CSR is a PEM (Base64) PKCS#10 request with intact header and footer lines",
            ("5.1.8", "5.2.5"),
            Severity.FAIL,
            (_CSR,),
            "Open the request file in Notepad and submit it whole, from the "
            "'-----BEGIN NEW CERTIFICATE REQUEST-----' line to the "
            "'-----END NEW CERTIFICATE REQUEST-----' line, each on its own line with five "
            "dashes; if it does not decode, create the request again in IIS Manager > "
            "Server Certificates > Create Certificate Request.",
            "以記事本開啟憑證請求檔，完整提交從 '-----BEGIN NEW CERTIFICATE REQUEST-----' 到 "
            "'-----END NEW CERTIFICATE REQUEST-----' 的內容，首尾兩行須各自獨立且前後各五個破折號；"
            "若仍無法解碼，請於 IIS 管理員 > 伺服器憑證 > 建立憑證要求 重新產生。",
        ),
        Control(
            "rsa-2048",
            "The key is RSA with at least 2048 bits",
            ("5.1.5",),
            Severity.FAIL,
            (_CSR, _CERT, Artifact.PRIVATE_KEY, Artifact.PFX),
            "In IIS Manager > Server Certificates > Create Certificate Request, choose "
            "'Microsoft RSA SChannel Cryptographic Provider' and bit length 2048, then ask "
            "the CA to re-issue the certificate for the new request.",
            "於 IIS 管理員 > 伺服器憑證 > 建立憑證要求，密碼編譯服務提供者選擇 "
            "'Microsoft RSA SChannel Cryptographic Provider'，位元長度選 2048，"
            "再以新的憑證請求檔向 CA 申請重新簽發。",
        ),
        Control(
            "subject-english",
            "Every subject field is printable ASCII (English only)",
            ("5.1",),
            Severity.FAIL,
            (_CSR, _CERT),
            "Create the certificate request again typing every field in English "
            "(half-width letters, digits and punctuation only), e.g. O=TWCA, L=TAIPEI, "
            "ST=TAIWAN, C=TW, and ask the CA to re-issue.",
            "重新建立憑證要求，所有欄位一律以英文半形字元輸入（例如 O=TWCA、L=TAIPEI、"
            "ST=TAIWAN、C=TW），再向 CA 申請重新簽發。",
        ),
        Control(
            "subject-fields",
            "The CSR subject has CN, O, L, ST and C; C is a two-letter country code",
            ("5.1.4",),
            Severity.FAIL,
            (_CSR,),
            "Create the certificate request again and fill in Distinguished Name Properties: "
            "Common name, Organization, Organizational unit, City/locality and "
            "State/province spelled out in full in English, Country/region as the two-letter "
            "code (TW).",
            "重新建立憑證要求，於「辨識名稱內容」填妥一般名稱、組織、組織單位、"
            "縣市/地區與州/省（英文全名），國家/地區填兩碼國碼（TW）。",
        ),
        Control(
            "cn-hostname",
            "The Common Name is the bare host name of the site",
            ("5.1.4.1",),
            Severity.FAIL,
            (_CSR, _CERT),
            "Create the certificate request again with Common name set to the site's host "
            "name only (e.g. www.example.com.tw): no 'https://', no path, no port.",
            "重新建立憑證要求，一般名稱只填網站主機名稱（例如 www.example.com.tw），"
            "不可含 'https://'、路徑或連接埠。",
        ),
        Control(
            "validity",
            "Now is within every certificate's validity period",
            ("5.7.1.1",),
            Severity.FAIL,
            (_CERT,),
            "Renew the certificate (repeat manual 5.1-5.8), or install the current "
            "intermediate certificate from the CA's cert.zip in certlm.msc > Intermediate "
            "Certification Authorities; confirm the dates with `certutil -dump server.cer`.",
            "請更新憑證（重做手冊 5.1-5.8），或自 CA 寄送的 cert.zip 安裝目前的中繼憑證至 "
            "certlm.msc > 中繼憑證授權單位；以 `certutil -dump server.cer` 確認有效期間。",
        ),
        Control(
            "renewal-window",
            "The certificate does not expire within the renewal window",
            ("5.11",),
            Severity.WARNING,
            (_CERT,),
            "Renew now: create a new certificate request (manual 5.1-5.8) and apply to the CA "
            "for renewal before the expiry date.",
            "請立即辦理展期：重新建立憑證要求（手冊 5.1-5.8）並於到期前向 CA 申請更新。",
        ),
    )
}

F = TypeVar("F", bound=Callable[..., None])


def control(control_id: str) -> Callable[[F], F]:
    """Mark a check function as the test of one catalogue control."""
    entry = CATALOGUE[control_id]  # KeyError: an unknown id is a bug in checks/

    def mark(func: F) -> F:
        marked: F = pytest.mark.certgate_control(entry.id)(func)
        return marked

    return mark
