"""The control catalogue: one entry per requirement of the manual, with a stable id; then the
opt-in hardening profile (SPEC §2.2, HARDENING.md §A), whose controls cite their sources.

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
    HOST = "host"  # what one address of the host serves: one item per address
    SITE = "site"  # the host name as a whole: one item per target with several addresses
    PAGE = "page"  # one listed page at one address of the host: one item per address and page


@dataclass(frozen=True)
class Control:
    """One requirement of the manual, as certgate checks it.

    A hardening-profile control (SPEC §2.2) has no manual § (``manual=()``): ``source``
    names where its requirement and threshold come from, and it has items only for targets
    with ``policy.hardening``.
    """

    id: str
    title: str
    manual: tuple[str, ...]
    severity: Severity
    applies_to: tuple[Artifact, ...]
    remediation_en: str
    remediation_zh: str
    fix: str = ""  # the one-sentence fix a failure message ends with (no manual § in it)
    source: str = ""  # hardening controls: the anchors cited instead of a manual §

    @property
    def hardening(self) -> bool:
        """Whether the control belongs to the opt-in hardening profile, not the manual."""
        return not self.manual

    @property
    def citation(self) -> str:
        """The manual sections, as printed in reports: ``5.1.8, 5.2.5``; ``hardening``."""
        return ", ".join(self.manual) if self.manual else "hardening"

    def owns(self, section: str) -> bool:
        """Whether ``section`` is one of the control's manual sections, or under one."""
        return any(section == m or section.startswith(f"{m}.") for m in self.manual)

    def cite(self, *sections: str) -> str:
        """``manual 5.1.8, 5.2.5``: the control's sections, or those of them given.

        A section the control does not own is a bug in a check (ValueError): every § a
        message cites comes from this catalogue.
        """
        if self.hardening:
            if sections:
                raise ValueError(f"{self.id} cites no manual §, only {self.source}")
            return f"hardening profile ({self.source})"
        chosen = sections or self.manual
        foreign = [s for s in chosen if not self.owns(s)]
        if foreign:
            raise ValueError(f"{self.id} does not cite manual {', '.join(foreign)}")
        return "manual " + ", ".join(chosen)


_CSR, _CERT, _HOST = Artifact.CSR, Artifact.CERTIFICATE, Artifact.HOST

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
            fix=(
                "Copy the whole file from Notepad, header and footer lines included, or create "
                "the request again in IIS Manager > Server Certificates"
            ),
        ),
        Control(
            "rsa-2048",
            "The key is RSA with at least 2048 bits",
            ("5.1.5",),
            Severity.FAIL,
            (_CSR, _CERT, Artifact.BUNDLE, Artifact.PRIVATE_KEY, Artifact.PFX, Artifact.HOST),
            "In IIS Manager > Server Certificates > Create Certificate Request, choose "
            "'Microsoft RSA SChannel Cryptographic Provider' and bit length 2048, then ask "
            "the CA to re-issue the certificate for the new request.",
            "於 IIS 管理員 > 伺服器憑證 > 建立憑證要求，密碼編譯服務提供者選擇 "
            "'Microsoft RSA SChannel Cryptographic Provider'，位元長度選 2048，"
            "再以新的憑證請求檔向 CA 申請重新簽發。",
            fix=(
                "Create a new certificate request in IIS with 'Microsoft RSA SChannel "
                "Cryptographic Provider' and bit length 2048, then ask the CA to re-issue"
            ),
        ),
        Control(
            "subject-english",
            "Every subject field is printable ASCII (English only)",
            ("5.1",),
            Severity.FAIL,
            (_CSR, _CERT, Artifact.BUNDLE, Artifact.PFX, Artifact.HOST),
            "In IIS Manager > Server Certificates > Create Certificate Request, type every "
            "field in English (half-width letters, digits and punctuation only), e.g. O=TWCA, "
            "L=TAIPEI, ST=TAIWAN, C=TW; check the request with `certutil -dump request.csr` "
            "before submitting it, and ask the CA to re-issue.",
            "於 IIS 管理員 > 伺服器憑證 > 建立憑證要求，所有欄位一律以英文半形字元輸入"
            "（例如 O=TWCA、L=TAIPEI、ST=TAIWAN、C=TW）；送出前以 `certutil -dump request.csr` "
            "檢查，再向 CA 申請重新簽發。",
            fix=(
                "Create the request again in English (e.g. O=TWCA, L=TAIPEI) and ask the CA to "
                "re-issue"
            ),
        ),
        Control(
            "subject-fields",
            "The CSR subject has CN, O, L, ST and C; C is a two-letter country code",
            ("5.1.4",),
            Severity.FAIL,
            (_CSR,),
            "In IIS Manager > Server Certificates > Create Certificate Request, fill in every "
            "Distinguished Name Property: Common name, Organization, Organizational unit, "
            "City/locality and State/province spelled out in full in English, Country/region "
            "as the two-letter code (TW); confirm with `certutil -dump request.csr`.",
            "於 IIS 管理員 > 伺服器憑證 > 建立憑證要求，在「辨識名稱內容」填妥一般名稱、"
            "組織、組織單位、縣市/地區與州/省（英文全名），國家/地區填兩碼國碼（TW）；"
            "以 `certutil -dump request.csr` 確認。",
            fix=("Create the request again in IIS and complete every Distinguished Name Property"),
        ),
        Control(
            "cn-hostname",
            "The Common Name is the bare host name of the site",
            ("5.1.4.1",),
            Severity.FAIL,
            (_CSR, _CERT, Artifact.BUNDLE, Artifact.PFX),
            "In IIS Manager > Server Certificates > Create Certificate Request, set Common "
            "name to the site's host name only (e.g. www.example.com.tw): no 'https://', no "
            "path, no port; confirm with `certutil -dump request.csr`.",
            "於 IIS 管理員 > 伺服器憑證 > 建立憑證要求，一般名稱只填網站主機名稱"
            "（例如 www.example.com.tw），不可含 'https://'、路徑或連接埠；以 "
            "`certutil -dump request.csr` 確認。",
            fix=("Create the request again with Common name like www.example.com.tw"),
        ),
        Control(
            "validity",
            "Now is within the validity period of the server certificate and its path",
            ("5.7.1.1",),
            Severity.FAIL,
            (_CERT, Artifact.BUNDLE, Artifact.CHAIN, Artifact.PFX, Artifact.HOST),
            "Renew the certificate (repeat manual 5.1-5.8), or install the current "
            "intermediate certificate from the CA's cert.zip in certlm.msc > Intermediate "
            "Certification Authorities; confirm the dates with `certutil -dump server.cer`.",
            "請更新憑證（重做手冊 5.1-5.8），或自 CA 寄送的 cert.zip 安裝目前的中繼憑證至 "
            "certlm.msc > 中繼憑證授權單位；以 `certutil -dump server.cer` 確認有效期間。",
            fix=("Renew the certificate, or install the CA's current intermediate certificate"),
        ),
        Control(
            "renewal-window",
            "The certificate does not expire within the renewal window",
            ("5.11",),
            Severity.WARNING,
            (_CERT, Artifact.BUNDLE, Artifact.PFX, Artifact.HOST),
            "Renew now: IIS Manager > Server Certificates > Create Certificate Request (manual "
            "5.1-5.8), apply to the CA, then Complete Certificate Request and bind the new "
            "certificate; confirm the new expiry with `certutil -dump server.cer` and "
            "`openssl s_client -connect HOST:443 -servername HOST`.",
            "請立即辦理展期：於 IIS 管理員 > 伺服器憑證 > 建立憑證要求（手冊 5.1-5.8）並向 CA "
            "申請，再完成憑證要求並重新繫結；以 `certutil -dump server.cer` 及 "
            "`openssl s_client -connect HOST:443 -servername HOST` 確認新的到期日。",
            fix=(
                "Create a new certificate request now, as for the first issue, and apply for "
                "renewal"
            ),
        ),
        Control(
            "bundle-contents",
            "cert.zip holds root.cer, uca.cer (or uca_1.cer + uca_2.cer) and server.cer, "
            "one certificate each in its role",
            ("5.3",),
            Severity.FAIL,
            (Artifact.BUNDLE,),
            "Ask the CA to send cert.zip again and unzip it as it comes: root.cer (root CA), "
            "uca.cer or uca_1.cer and uca_2.cer (intermediate CAs), server.cer (your server "
            "certificate); check each with `certutil -dump <file>.cer`. Never extract a zip "
            "whose file names hold '..' or a drive letter.",
            "請向 CA 重新索取 cert.zip，解壓縮後應為 root.cer（根憑證）、uca.cer 或 uca_1.cer 與 "
            "uca_2.cer（中繼憑證）、server.cer（伺服器憑證）；可用 `certutil -dump <檔名>.cer` "
            "逐一確認。檔名含 '..' 或磁碟代號的壓縮檔請勿解壓縮。",
            fix=(
                "Ask the CA to send cert.zip again and check each file with `certutil -dump "
                "<file>.cer`"
            ),
        ),
        Control(
            "chain-links",
            "The certificate files form a path server -> intermediate(s) -> root by issuer "
            "names and signatures",
            ("5.4", "5.5", "5.7.1.2"),
            Severity.FAIL,
            (Artifact.BUNDLE, Artifact.CHAIN, Artifact.PFX),
            "Use the root.cer and uca*.cer from the same cert.zip as server.cer: import root.cer "
            "into certlm.msc > Trusted Root Certification Authorities and the intermediates "
            "into Intermediate Certification Authorities, then open server.cer > Certification "
            "Path and confirm 'This certificate is OK' (or run `certutil -verify server.cer`).",
            "請使用與 server.cer 同一份 cert.zip 內的 root.cer 與 uca*.cer：將 root.cer 匯入 "
            "certlm.msc > 受信任的根憑證授權單位，中繼憑證匯入 中繼憑證授權單位，再開啟 "
            "server.cer > 憑證路徑 確認顯示「這個憑證沒有問題」（或執行 "
            "`certutil -verify server.cer`）。",
            fix=(
                "Take root.cer and uca*.cer from the same cert.zip as server.cer and install "
                "them in certlm.msc (Trusted Root / Intermediate Certification Authorities); "
                "confirm with `certutil -verify server.cer`"
            ),
        ),
        Control(
            "key-match",
            "The private key and the CSR belong to the server certificate; every copy of the "
            "server certificate is the same",
            ("5.7.1.1", "6.4"),
            Severity.FAIL,
            (Artifact.PRIVATE_KEY, _CSR, _CERT),
            "Complete Certificate Request on the server that created the CSR (it holds the "
            "key); if that key is lost, create a new request in IIS Manager > Server "
            "Certificates and ask the CA to re-issue. Check with `certutil -repairstore my "
            "<serial>` and that the certificate shows 'You have a private key'.",
            "請在產生 CSR 的同一台伺服器上執行「完成憑證要求」（私密金鑰在該伺服器上）；若金鑰"
            "已遺失，請於 IIS 管理員 > 伺服器憑證 重新建立憑證要求並請 CA 重新簽發。可執行 "
            "`certutil -repairstore my <序號>`，並確認憑證顯示"
            "「您有一個對應到這個憑證的私密金鑰」。",
            fix=(
                "Use the private key created with this certificate's request, or create a new "
                "request on this server and have the CA re-issue"
            ),
        ),
        Control(
            "pfx-contents",
            "The PFX opens with its password and holds the private key, its certificate and "
            "the intermediates",
            ("5.9.4", "5.9.5", "5.10"),
            Severity.FAIL,
            (Artifact.PFX,),
            "Export again from certlm.msc > Personal > Certificates > (the certificate) > All "
            "Tasks > Export: 'Yes, export the private key', 'Include all certificates in the "
            "certification path if possible', password protected.",
            "請於 certlm.msc > 個人 > 憑證 > (該憑證) > 所有工作 > 匯出 重新匯出：選擇「是，匯出"
            "私密金鑰」，勾選「如果可能的話，包含憑證路徑中的所有憑證」，並設定密碼保護。",
            fix=(
                "Export again from certlm.msc > Personal > Certificates > All Tasks > Export, "
                "with the private key and 'Include all certificates in the certification path'"
            ),
        ),
        Control(
            "pfx-encryption",
            "The PFX is password-protected with an accepted encryption (AES-256 or TripleDES-SHA1)",
            ("5.9.6",),
            Severity.FAIL,
            (Artifact.PFX,),
            "Export again (certlm.msc > Personal > Certificates > All Tasks > Export) with "
            "'Enable certificate privacy', a password and Encryption 'AES256-SHA256' "
            "('TripleDES-SHA1' only for Windows Server 2016 and older).",
            "請重新匯出（certlm.msc > 個人 > 憑證 > 所有工作 > 匯出），勾選「啟用憑證隱私權」、"
            "設定密碼，加密選擇 'AES256-SHA256'（僅 Windows Server 2016 以前的舊系統使用 "
            "'TripleDES-SHA1'）。",
            fix=(
                "Export again with 'Enable certificate privacy', a password and encryption "
                "AES256-SHA256 (TripleDES-SHA1 only for Windows Server 2016 and older)"
            ),
        ),
        Control(
            "https-binding",
            "A TLS handshake with the host name (SNI) succeeds on the https port",
            ("5.8",),
            Severity.FAIL,
            (_HOST,),
            "In IIS Manager > Sites > (the site) > Bindings, add type https, port 443 and the "
            "server certificate installed in manual 5.6; allow TCP 443 in Windows Defender "
            "Firewall; confirm with `netsh http show sslcert` and "
            "`openssl s_client -connect HOST:443 -servername HOST`.",
            "於 IIS 管理員 > 站台 > (網站) > 繫結，新增類型 https、連接埠 443，並選擇手冊 5.6 "
            "安裝的伺服器憑證；於 Windows Defender 防火牆允許 TCP 443；以 "
            "`netsh http show sslcert` 及 "
            "`openssl s_client -connect HOST:443 -servername HOST` 確認。",
            fix=(
                "In IIS Manager > Sites > Bindings add type https on that port, select the "
                "certificate, and open the firewall"
            ),
        ),
        Control(
            "chain-served",
            "The server sends its certificate first, then every intermediate, in order",
            ("6.1", "5.5"),
            Severity.FAIL,
            (_HOST,),
            "Install uca.cer (or uca_1.cer and uca_2.cer) from cert.zip into certlm.msc > "
            "Intermediate Certification Authorities > Certificates, then restart IIS "
            "(`iisreset`); `openssl s_client -connect HOST:443 -servername HOST -showcerts` "
            "must then show at least two certificates.",
            "將 cert.zip 內的 uca.cer（或 uca_1.cer、uca_2.cer）匯入 certlm.msc > "
            "中繼憑證授權單位 > 憑證，再重新啟動 IIS（`iisreset`）；"
            "`openssl s_client -connect HOST:443 -servername HOST -showcerts` "
            "應顯示至少兩張憑證。",
            fix=(
                "Install uca.cer (uca_1.cer and uca_2.cer) from cert.zip in certlm.msc > "
                "Intermediate Certification Authorities and restart IIS (iisreset)"
            ),
        ),
        Control(
            "chain-trusted",
            "The served chain validates for the host name against the trusted roots",
            ("5.4", "5.5", "5.7.1.2"),
            Severity.FAIL,
            (_HOST,),
            "Untrusted root: install root.cer in certlm.msc > Trusted Root Certification "
            "Authorities (or use a publicly trusted CA); incomplete chain: install the "
            "intermediates (manual 5.5) and `iisreset`; expired: renew (manual 5.11); name "
            "mismatch: bind the certificate issued for this host name in Site Bindings.",
            "根憑證不受信任：將 root.cer 匯入 certlm.msc > 受信任的根憑證授權單位；憑證鏈不完整："
            "安裝中繼憑證（手冊 5.5）並執行 `iisreset`；已過期：辦理展期（手冊 5.11）；"
            "名稱不符：於站台繫結選擇為此主機名稱簽發的憑證。",
            fix=("Compare the chain with the CA's cert.zip and re-install it"),
        ),
        Control(
            "served-expected",
            "Every address serves the target's own (renewed) certificate",
            ("6.2",),
            Severity.FAIL,
            (_HOST,),
            "On the server at that address: IIS Manager > Sites > Bindings > https > select the "
            "new certificate, then `iisreset`; check every server behind the name, the load "
            "balancer or WAF in front, and the hosting provider; confirm with "
            "`Get-ChildItem Cert:\\LocalMachine\\My` and `netsh http show sslcert`.",
            "於該位址的伺服器：IIS 管理員 > 站台 > 繫結 > https > 選擇新憑證，再執行 `iisreset`；"
            "逐一檢查名稱後的每台伺服器、前端負載平衡器或 WAF 與代管廠商；以 "
            "`Get-ChildItem Cert:\\LocalMachine\\My` 及 `netsh http show sslcert` 確認。",
            fix=("Bind the new certificate there and restart the service"),
        ),
        Control(
            "consistent-addresses",
            "Every address behind the host name serves the same certificate",
            ("6.2.2", "6.2.3", "6.2.4"),
            Severity.FAIL,
            (Artifact.SITE,),
            "Install the same certificate (import the PFX backup, manual 5.10) and bind it on "
            "every server behind the name and on any load balancer or WAF in front of them; "
            "restart each (`iisreset`).",
            "在名稱後的每台伺服器及前端負載平衡器、WAF 上安裝同一張憑證（匯入 PFX 備份，手冊 "
            "5.10）並完成繫結，逐台重新啟動（`iisreset`）。",
            fix=(
                "Bind the current certificate on every server and device behind the name and "
                "restart each"
            ),
        ),
        Control(
            "mixed-content",
            "The HTTPS pages load no sub-resource over plain http",
            ("6.3",),
            Severity.FAIL,
            (Artifact.PAGE,),
            "Open the page in the browser, press F12 and read the Console's 'Mixed Content' "
            "lines; change each http:// address in the page, its stylesheets and scripts to "
            "https:// (or a relative path on the same site), copying the file to your server "
            "when its host has no https; in IIS, keep redirects (HTTP Redirect, URL Rewrite) "
            "on https.",
            "以瀏覽器開啟該網頁，按 F12 查看主控台（Console）中的「Mixed Content」訊息；將網頁、"
            "樣式表與指令碼中每個 http:// 位址改為 https://（或同站台的相對路徑），若該主機不支援 "
            "https，請將檔案複製到自己的伺服器；IIS 的 HTTP 重新導向與 URL Rewrite 規則也須導向 "
            "https。",
            fix=(
                "Change each http:// address the page loads to https:// (or a relative path on "
                "the same site)"
            ),
        ),
    )
}


def _hardening(
    control_id: str,
    title: str,
    severity: Severity,
    source: str,
    remediation: tuple[str, str],
    fix: str,
) -> Control:
    """A hardening-profile control (HARDENING.md §A): one item per host address."""
    en, zh = remediation
    return Control(control_id, title, (), severity, (_HOST,), en, zh, fix=fix, source=source)


_SCHANNEL = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"

# HARDENING.md §A (ids, severities, thresholds) and §A.2 (remediation, EN / zh-TW).
HARDENING: tuple[Control, ...] = (
    _hardening(
        "tls-no-ssl",
        "SSL 2.0 and SSL 3.0 are refused",
        Severity.FAIL,
        "Mozilla Server Side TLS; testssl.sh; NCSC-NL TLS 2025-05",
        (
            f"SSL 2.0/3.0 is accepted. In `regedit`, under `{_SCHANNEL}\\Protocols\\SSL 3.0\\"
            "Server` (and `SSL 2.0\\Server`), set DWORD `Enabled`=0 and `DisabledByDefault`=1, "
            "then restart the server.",
            f"伺服器仍接受 SSL 2.0/3.0。請在登錄編輯程式的 `{_SCHANNEL}\\Protocols\\SSL 3.0\\"
            "Server`（及 `SSL 2.0\\Server`）建立 DWORD `Enabled`=0、`DisabledByDefault`=1，"
            "然後重新開機。",
        ),
        "Set Enabled=0 and DisabledByDefault=1 under SCHANNEL\\Protocols\\SSL 3.0\\Server "
        "(and SSL 2.0) and restart",
    ),
    _hardening(
        "tls-no-legacy",
        "TLS 1.0 and TLS 1.1 are refused",
        Severity.FAIL,
        "SSL Labs 2020 grading; Mozilla Server Side TLS intermediate; NCSC-NL TLS 2025-05",
        (
            "TLS 1.0/1.1 is accepted. On Windows Server 2022 or later: IIS Manager → Sites → the "
            'site → Bindings… → the https binding → Edit → tick "Disable Legacy TLS" (or '
            "`netsh http update sslcert` with `disablelegacytls=enable`). To turn it off for the "
            "whole machine: set `Enabled`=0 and `DisabledByDefault`=1 under "
            "`…\\SCHANNEL\\Protocols\\TLS 1.0\\Server` and `TLS 1.1\\Server`, then restart. "
            "Check other services on the server that still need TLS 1.0 first.",
            "伺服器仍接受 TLS 1.0/1.1。Windows Server 2022 以上：IIS 管理員 →「站台」→ 該站台 →"
            "「繫結…」→ https 繫結 →「編輯」→ 勾選「Disable Legacy TLS」（或以 "
            "`netsh http update sslcert` 加上 `disablelegacytls=enable`）。若要全機停用：在 "
            "`…\\SCHANNEL\\Protocols\\TLS 1.0\\Server` 與 `TLS 1.1\\Server` 設定 "
            "`Enabled`=0、`DisabledByDefault`=1 後重新開機；停用前請確認本機其他服務不再需要 "
            "TLS 1.0。",
        ),
        "Tick 'Disable Legacy TLS' on the https binding (Windows Server 2022+), or disable "
        "TLS 1.0 and 1.1 under SCHANNEL\\Protocols and restart",
    ),
    _hardening(
        "tls13-offered",
        "A TLS 1.3 handshake completes",
        Severity.WARNING,
        "SSL Labs rating guide 2009r; NCSC-NL TLS 2025-05",
        (
            'No TLS 1.3 handshake succeeded. On Windows Server 2022 or later, untick "Disable '
            'TLS 1.3 over TCP" on the https binding, and make sure the TLS 1.3 suites are '
            "enabled: `Enable-TlsCipherSuite -Name TLS_AES_256_GCM_SHA384` and "
            "`Enable-TlsCipherSuite -Name TLS_AES_128_GCM_SHA256`. Windows Server 2016/2019 do "
            "not support TLS 1.3.",
            "無法以 TLS 1.3 完成交握。Windows Server 2022 以上：在 https 繫結取消勾選「Disable "
            "TLS 1.3 over TCP」，並以 `Enable-TlsCipherSuite -Name TLS_AES_256_GCM_SHA384`、"
            "`Enable-TlsCipherSuite -Name TLS_AES_128_GCM_SHA256` 啟用 TLS 1.3 加密套件。"
            "Windows Server 2016/2019 不支援 TLS 1.3。",
        ),
        "Untick 'Disable TLS 1.3 over TCP' on the binding and enable TLS_AES_256_GCM_SHA384 "
        "and TLS_AES_128_GCM_SHA256 (Windows Server 2022+)",
    ),
    _hardening(
        "cipher-no-weak",
        "No NULL, anonymous, EXPORT, DES, RC4, 3DES/IDEA or under-128-bit suite on any version",
        Severity.FAIL,
        "SSL Labs 2015/2017 grading (RC4, SWEET32); Mozilla Server Side TLS; NCSC-NL TLS 2025-05",
        (
            "Weak cipher suites are accepted (listed in the finding). Run `Disable-TlsCipherSuite "
            "-Name <suite>` for each one (for example `TLS_RSA_WITH_3DES_EDE_CBC_SHA`), or remove "
            'them from Group Policy "SSL Cipher Suite Order" (Computer Configuration > '
            "Administrative Templates > Network > SSL Configuration Settings).",
            "伺服器接受弱加密套件（列於檢查結果）。請對每一項執行 `Disable-TlsCipherSuite -Name "
            "<套件名稱>`（例如 `TLS_RSA_WITH_3DES_EDE_CBC_SHA`），或在群組原則「SSL Cipher Suite "
            "Order」（電腦設定 > 系統管理範本 > 網路 > SSL Configuration Settings）的清單中移除。",
        ),
        "Run Disable-TlsCipherSuite -Name <suite> for each one listed, or tick 'Disable Legacy "
        "TLS' on the binding",
    ),
    _hardening(
        "cipher-no-cbc-sha1",
        "No CBC suite with a SHA-1 MAC (*_CBC_SHA) in TLS 1.2",
        Severity.FAIL,
        "Mozilla Server Side TLS intermediate; NCSC-NL TLS 2025-05",
        (
            "CBC suites with SHA-1 are accepted (listed in the finding). Disable them with "
            '`Disable-TlsCipherSuite`, or tick "Disable Legacy TLS" on the binding.',
            "伺服器接受 CBC + SHA-1 加密套件（列於檢查結果）。請以 `Disable-TlsCipherSuite` "
            "停用，或在繫結勾選「Disable Legacy TLS」。",
        ),
        "Disable them with Disable-TlsCipherSuite, or tick 'Disable Legacy TLS' on the binding",
    ),
    _hardening(
        "cipher-forward-secrecy",
        "Every accepted TLS 1.0-1.2 suite uses ECDHE or DHE: no static-RSA key exchange",
        Severity.FAIL,
        "SSL Labs 2018 grading; Mozilla Server Side TLS; NCSC-NL TLS 2025-05",
        (
            "Suites without forward secrecy (RSA key exchange) are accepted (listed in the "
            "finding). Disable every `TLS_RSA_WITH_*` suite with `Disable-TlsCipherSuite`, or "
            'tick "Disable Legacy TLS" on the binding. This also removes the ROBOT attack '
            "surface.",
            "伺服器接受不具前向保密（RSA 金鑰交換）的加密套件（列於檢查結果）。請以 "
            "`Disable-TlsCipherSuite` 停用所有 `TLS_RSA_WITH_*` 套件，或在繫結勾選「Disable "
            "Legacy TLS」；這也同時消除 ROBOT 攻擊面。",
        ),
        "Disable every TLS_RSA_WITH_* suite with Disable-TlsCipherSuite, or tick 'Disable "
        "Legacy TLS' on the binding",
    ),
    _hardening(
        "cipher-aead-only",
        "TLS 1.2 offers only AEAD suites (no CBC)",
        Severity.WARNING,
        "SSL Labs 2018 grading; Mozilla Server Side TLS; NCSC-NL TLS 2025-05 (phase out)",
        (
            "Non-AEAD (CBC) suites are still offered (listed in the finding). Recommended: "
            'disable them, or keep them at the end of "SSL Cipher Suite Order" so that HTTP/2 '
            "clients never pick them (KB4032720).",
            "仍提供非 AEAD（CBC）加密套件（列於檢查結果）。建議停用，或至少排在「SSL Cipher "
            "Suite Order」最後，以免 HTTP/2 用戶端選到（參見 KB4032720）。",
        ),
        "Disable the CBC suites with Disable-TlsCipherSuite, or keep them last in 'SSL Cipher "
        "Suite Order'",
    ),
    _hardening(
        "kex-groups",
        "ECDHE groups only X25519, P-256 or P-384 (P-521 tolerated; none under 256 bits); "
        "DHE, if offered, at least 2048 bits",
        Severity.FAIL,
        "Mozilla Server Side TLS (ECDH 256, DH 2048 bits); sslyze Mozilla checker; "
        "NCSC-NL TLS 2025-05",
        (
            "Weak or unexpected key-exchange groups are accepted (listed in the finding). List "
            "them with `Get-TlsEccCurve`; remove them with `Disable-TlsEccCurve -Name <curve>` "
            'or Group Policy "ECC Curve Order". For DHE, set `ServerMinKeyBitLength` under '
            "`…\\SCHANNEL\\KeyExchangeAlgorithms\\Diffie-Hellman` to at least 2048, or "
            "disable the `TLS_DHE_RSA_*` suites. Confirm with `openssl s_client -connect "
            "HOST:443 -servername HOST -tls1_2 -groups secp224r1`: the handshake must fail.",
            "金鑰交換群組過弱或不在允許清單（列於檢查結果）。以 `Get-TlsEccCurve` 檢視，並用 "
            "`Disable-TlsEccCurve -Name <曲線>` 或群組原則「ECC Curve Order」移除；DHE 請在 "
            "`…\\SCHANNEL\\KeyExchangeAlgorithms\\Diffie-Hellman` 設定 "
            "`ServerMinKeyBitLength` ≥ 2048，或停用 `TLS_DHE_RSA_*` 套件。以 `openssl s_client "
            "-connect HOST:443 -servername HOST -tls1_2 -groups secp224r1` 確認交握失敗。",
        ),
        "Remove the listed curves with Disable-TlsEccCurve (or GPO 'ECC Curve Order') and set "
        "Diffie-Hellman ServerMinKeyBitLength to 2048, or disable the TLS_DHE_RSA_* suites",
    ),
    _hardening(
        "cert-sig-sha2",
        "The leaf and every served non-root certificate are signed with SHA-256 or stronger",
        Severity.FAIL,
        "SSL Labs 2014 grading; testssl.sh; NCSC-NL TLS 2025-05",
        (
            "A served certificate is signed with SHA-1 or MD5 (named in the finding). Re-apply "
            "for a SHA-256 certificate. Install the SHA-256 intermediate certificate from "
            'cert.zip, and remove the old SHA-1 intermediate from "Intermediate Certification '
            'Authorities" (`certlm.msc`).',
            "伺服器送出的憑證使用 SHA-1 或 MD5 簽章（列於檢查結果）。請重新申請 SHA-256 憑證；"
            "安裝 cert.zip 內的 SHA-256 中繼憑證，並從 `certlm.msc` 的「中繼憑證授權單位」移除"
            "舊的 SHA-1 中繼憑證。",
        ),
        "Re-apply for a SHA-256 certificate and install the SHA-256 intermediate from cert.zip",
    ),
    _hardening(
        "cert-lifetime",
        "The leaf's lifetime is within the CA/Browser Forum ceiling for its issue date",
        Severity.WARNING,
        "CA/B Forum Baseline Requirements (398/200/100/47 days)",
        (
            "The certificate's lifetime exceeds the CA/Browser Forum limit for its issue date "
            "(figures in the finding). Browsers may reject it. Plan for shorter certificates "
            "and automated renewal; confirm the dates with `certutil -dump server.cer`.",
            "憑證效期超過其簽發日期適用的 CA/Browser Forum 上限（數字見檢查結果），瀏覽器可能"
            "拒絕。請改用較短效期憑證並規劃自動化更新；以 `certutil -dump server.cer` 確認"
            "有效期間。",
        ),
        "Ask the CA for a certificate within the limit and automate its renewal",
    ),
    _hardening(
        "cert-eku-serverauth",
        "The leaf has Extended Key Usage serverAuth and, if it has KeyUsage, digitalSignature "
        "or keyEncipherment",
        Severity.FAIL,
        "RFC 5280 4.2.1.12; testssl.sh cert_extKeyUsage",
        (
            'The certificate lacks Extended Key Usage "Server Authentication" '
            "(1.3.6.1.5.5.7.3.1). Re-apply with a TLS server (Web Server) profile, and do not "
            "bind client-authentication or code-signing certificates to a website.",
            "憑證缺少「伺服器驗證」（Server Authentication, 1.3.6.1.5.5.7.3.1）延伸金鑰用法。"
            "請以 TLS 伺服器（Web Server）類型重新申請；請勿將用戶端驗證或程式碼簽章憑證繫結"
            "到網站。",
        ),
        "Re-apply for a certificate with the Web Server (TLS server) profile and bind it",
    ),
    _hardening(
        "ocsp-stapled",
        "The SNI handshake staples a successful, good, trusted OCSP response (a must-staple "
        "leaf without one fails; passes as not applicable when the leaf names no OCSP URL)",
        Severity.WARNING,
        "Mozilla Server Side TLS (ocsp_staple); RFC 7633 (must-staple); Internet.nl "
        "ocsp_stapling; testssl.sh",
        (
            "No OCSP response is stapled, or the one stapled is not good (the finding says "
            'which). IIS staples by default only on non-SNI bindings. For "Require Server '
            'Name Indication" bindings, set DWORD `EnableOcspStaplingForSni`=1 under '
            f'`{_SCHANNEL}`. Make sure "Disable OCSP Stapling" is not ticked on the '
            "binding, and that the server can reach the CA's OCSP URL over HTTP. Confirm with "
            "`openssl s_client -connect HOST:443 -servername HOST -status`: it must print "
            "`OCSP Response Status: successful`.",
            "伺服器未附帶（staple）OCSP 回應，或附帶的回應無效（見檢查結果）。IIS 預設只對非 "
            "SNI 繫結啟用；若繫結勾選「需要伺服器名稱指示」（Require Server Name Indication），"
            f"請在 `{_SCHANNEL}` 建立 DWORD `EnableOcspStaplingForSni`=1，確認繫結未勾選"
            "「Disable OCSP Stapling」，且伺服器可連到 CA 的 OCSP 網址（HTTP）。以 "
            "`openssl s_client -connect HOST:443 -servername HOST -status` 確認輸出 "
            "`OCSP Response Status: successful`。",
        ),
        "Set EnableOcspStaplingForSni=1 under SCHANNEL for SNI bindings, untick 'Disable OCSP "
        "Stapling' on the binding, and let the server reach the CA's OCSP URL",
    ),
    _hardening(
        "hsts",
        "HTTPS responses carry Strict-Transport-Security with max-age of at least one year",
        Severity.FAIL,
        "RFC 6797; Internet.nl https_hsts (1 year)",
        (
            "HSTS is missing, or max-age is shorter than one year. Windows Server 2019 or later: "
            'add `<hsts enabled="true" max-age="31536000" />` to the site (IIS '
            "Configuration Editor or `Set-IISConfigAttributeValue`). Windows Server 2016: add "
            "the `Strict-Transport-Security` header with a URL Rewrite outbound rule, for HTTPS "
            "responses only.",
            "缺少 HSTS 或 max-age 少於一年。Windows Server 2019 以上：在站台加入 "
            '`<hsts enabled="true" max-age="31536000" />`（IIS 組態編輯器或 '
            "`Set-IISConfigAttributeValue`）；Windows Server 2016：以 URL Rewrite 輸出規則僅在 "
            "HTTPS 回應加入 `Strict-Transport-Security` 標頭。",
        ),
        'Add <hsts enabled="true" max-age="31536000" /> to the site (Windows Server '
        "2019+), or a URL Rewrite outbound rule on Windows Server 2016",
    ),
    _hardening(
        "http-redirects-to-https",
        "http://host/ redirects first to https on the same host (or port 80 is closed)",
        Severity.FAIL,
        "Internet.nl https_forced; MDN HTTP Observatory redirection",
        (
            "`http://host/` does not redirect to HTTPS. Windows Server 2019 or later: set "
            '`redirectHttpToHttps="true"` in the site\'s `<hsts>` element. Windows Server '
            '2016: install URL Rewrite and add the rule "Redirect HTTP to HTTPS" (condition '
            "`{HTTPS}` = off, redirect to `https://{HTTP_HOST}/{R:1}`, Permanent). "
            "Confirm with `curl -sI http://host/` (a 301 with `Location: https://host/`).",
            "`http://host/` 未重新導向到 HTTPS。Windows Server 2019 以上：在站台 `<hsts>` 設定 "
            '`redirectHttpToHttps="true"`；Windows Server 2016：安裝 URL Rewrite，新增'
            "「HTTP 轉 HTTPS」規則（條件 `{HTTPS}` 為 off，永久重新導向至 "
            "`https://{HTTP_HOST}/{R:1}`）。以 `curl -sI http://host/` 確認（應回 301 及 "
            "`Location: https://host/`）。",
        ),
        'Set redirectHttpToHttps="true" in the site\'s <hsts> element (Windows Server 2019+), '
        "or add a URL Rewrite rule to https://{HTTP_HOST}/{R:1}",
    ),
    _hardening(
        "non-sni-cert-valid",
        "A handshake without SNI fails, or returns a certificate that validates and matches "
        "the host",
        Severity.WARNING,
        "testssl.sh (certificate without SNI); sslyze certinfo (deployment without SNI)",
        (
            "Clients that do not send SNI receive a certificate that is not valid for the host "
            "(named in the finding). In IIS Manager → Bindings, give the https binding with an "
            'empty host name and without "Require Server Name Indication" the correct '
            "certificate, or remove the stale default binding. Check with `netsh http show "
            "sslcert` (look for `0.0.0.0:443` and `[::]:443`), then with `openssl s_client "
            "-connect IP:443 -noservername`.",
            "未送出 SNI 的用戶端收到對此主機無效的憑證（列於檢查結果）。請在 IIS 管理員「繫結」"
            "中，為主機名稱空白且未勾選「需要伺服器名稱指示」的 https 繫結指定正確憑證，或移除過時"
            "的預設繫結；可用 `netsh http show sslcert` 檢查 `0.0.0.0:443`、`[::]:443`，再以 "
            "`openssl s_client -connect IP:443 -noservername` 確認。",
        ),
        "Give the https binding without a host name and without 'Require Server Name "
        "Indication' the right certificate, or remove that stale binding",
    ),
    _hardening(
        "vuln-heartbleed-ccs",
        "Not vulnerable to Heartbleed (CVE-2014-0160) or OpenSSL CCS injection (CVE-2014-0224)",
        Severity.FAIL,
        "testssl.sh; sslyze Mozilla checker",
        (
            "Heartbleed or OpenSSL CCS injection was detected (named in the finding). IIS "
            "(Schannel) does not use OpenSSL, so TLS is terminated by a device in front of IIS "
            "(load balancer, WAF, reverse proxy). Update that device.",
            "偵測到 Heartbleed 或 OpenSSL CCS injection 弱點（列於檢查結果）。IIS（Schannel）"
            "不使用 OpenSSL，表示 TLS 由 IIS 前端設備（負載平衡器、WAF、反向代理）終止，"
            "請更新該設備。",
        ),
        "Update the OpenSSL-based device that terminates TLS in front of IIS (load balancer, "
        "WAF, reverse proxy)",
    ),
    _hardening(
        "vuln-robot",
        "No ROBOT oracle on RSA key exchange (a strong one fails; a weak or inconsistent one "
        "is a warning)",
        Severity.FAIL,
        "SSL Labs 2018 grading (ROBOT); testssl.sh; sslyze Mozilla checker",
        (
            "A ROBOT oracle was detected (its kind is in the finding). Disable the RSA "
            "key-exchange suites (`TLS_RSA_WITH_*`), and update any TLS device in front of "
            "IIS. A strong oracle fails this control; a weak or inconsistent one is a warning, "
            "and disabling `TLS_RSA_WITH_*` clears both.",
            "偵測到 ROBOT 弱點（類型列於檢查結果）。請停用 RSA 金鑰交換套件"
            "（`TLS_RSA_WITH_*`），並更新 IIS 前端的 TLS 設備。強 oracle 判定不合格；弱或結果"
            "不一致的 oracle 列為警告，停用 `TLS_RSA_WITH_*` 可一併消除。",
        ),
        "Disable every TLS_RSA_WITH_* suite with Disable-TlsCipherSuite (or tick 'Disable "
        "Legacy TLS' on the binding) and update any TLS device in front of IIS",
    ),
    _hardening(
        "renegotiation-secure",
        "Secure renegotiation (RFC 5746) is supported (unlimited client-initiated "
        "renegotiation is a warning)",
        Severity.FAIL,
        "RFC 5746; SSL Labs 2014 grading; testssl.sh; NCSC-NL TLS 2025-05",
        (
            "Secure renegotiation (RFC 5746) is not supported, or client-initiated "
            "renegotiation is unlimited. Check the TLS terminator in front of IIS, and install "
            "the current Windows updates.",
            "不支援安全重新協商（RFC 5746），或允許無限制的用戶端重新協商。請檢查 IIS 前端的 "
            "TLS 終止設備並套用最新 Windows 更新。",
        ),
        "Check the TLS terminator in front of IIS and install the current Windows updates",
    ),
    _hardening(
        "tls-compression-off",
        "TLS-level compression (CRIME) is off",
        Severity.FAIL,
        "testssl.sh (CRIME); sslyze Mozilla checker; NCSC-NL TLS 2025-05",
        (
            "TLS compression is on (CRIME). Turn it off on the device that terminates TLS "
            "(IIS itself is not expected to offer it), then confirm with `openssl s_client "
            "-connect HOST:443 -servername HOST -tls1_2 -comp`: it must print "
            "`Compression: NONE`.",
            "已啟用 TLS 壓縮（CRIME 風險）。請在終止 TLS 的設備上關閉（IIS 本身預期不提供），"
            "再以 `openssl s_client -connect HOST:443 -servername HOST -tls1_2 -comp` 確認"
            "輸出為 `Compression: NONE`。",
        ),
        "Turn TLS compression off on the device that terminates TLS",
    ),
    _hardening(
        "fallback-scsv",
        "While TLS 1.0/1.1 are accepted, the server refuses an inappropriate fallback "
        "(TLS_FALLBACK_SCSV); passes when they are refused",
        Severity.WARNING,
        "RFC 7507 (obsoleted by RFC 8996); testssl.sh; sslyze Mozilla checker",
        (
            "TLS 1.0/1.1 is still enabled, and the server does not signal downgrade protection "
            "(TLS_FALLBACK_SCSV). Windows Schannel does not provide this signal. The fix is to "
            "disable TLS 1.0/1.1 (see `tls-no-legacy`); confirm with `openssl s_client -connect "
            "HOST:443 -servername HOST -tls1_1`: the handshake must fail.",
            "仍啟用 TLS 1.0/1.1，且伺服器未提供降級保護（TLS_FALLBACK_SCSV）。Windows Schannel "
            "不提供此機制，解法為停用 TLS 1.0/1.1（見 `tls-no-legacy`）；以 `openssl s_client "
            "-connect HOST:443 -servername HOST -tls1_1` 確認交握失敗。",
        ),
        "Disable TLS 1.0 and 1.1 (see tls-no-legacy): Schannel does not provide TLS_FALLBACK_SCSV",
    ),
)
CATALOGUE.update((c.id, c) for c in HARDENING)


def cite(control_id: str, *sections: str) -> str:
    """How a failure message cites the manual: ``manual 5.1.8, 5.2.5`` (see Control.cite)."""
    return CATALOGUE[control_id].cite(*sections)


def fix(control_id: str) -> str:
    """The control's one-sentence fix, as failure messages end with it."""
    return CATALOGUE[control_id].fix


class Finding(AssertionError):
    """A finding at a level of its own, whatever the control's severity (HARDENING.md §A: a
    weak ROBOT oracle is a warning of a fail control; a must-staple leaf without a staple is
    a failure of a warning control). The plugin turns a WARNING finding into a passed item
    with a ComplianceWarning, and lets a FAIL finding fail the item."""

    def __init__(self, message: str, severity: Severity) -> None:
        super().__init__(message)
        self.severity = severity


def warn_unless(holds: bool, message: str) -> None:
    """Like ``assert holds, message``, but what it finds is a warning in any control."""
    if not holds:
        raise Finding(message, Severity.WARNING)


def fail_unless(holds: bool, message: str) -> None:
    """Like ``assert holds, message``, but what it finds fails the item in any control."""
    if not holds:
        raise Finding(message, Severity.FAIL)


def finding_severity(exc: AssertionError, control: Control) -> Severity:
    """The level of a check's failed assertion: its own (a Finding), else the control's."""
    return exc.severity if isinstance(exc, Finding) else control.severity


F = TypeVar("F", bound=Callable[..., None])


def control(control_id: str) -> Callable[[F], F]:
    """Mark a check function as the test of one catalogue control."""
    entry = CATALOGUE[control_id]  # KeyError: an unknown id is a bug in checks/

    def mark(func: F) -> F:
        marked: F = pytest.mark.certgate_control(entry.id)(func)
        return marked

    return mark
