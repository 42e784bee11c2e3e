"""An HTML-only email as a webmail client sends it: an inline photo (cid:), a remote tracking
image, a script and an event handler, a signature and the quoted history of our reply."""

from __future__ import annotations

from email.message import EmailMessage

from civicdesk.cases.models import Case
from civicdesk.channels.adapters.email.envelope import Envelope
from civicdesk.channels.contracts import RawPayload
from civicdesk.workspace.tests.conftest import accept

# The smallest valid PNG (1x1, transparent).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000185d34b1f0000000049454e44ae426082"
)
HTML = """<html><head><title>Fallen tree</title><style>p{color:red}</style>
<script>document.title='owned'</script></head><body>
<div dir="ltr"><p>Hello,</p>
<p onclick="steal()">A tree has <b>fallen</b> across the footpath in Riverside Park.</p>
<p><img src="cid:tree-photo@mail.example" alt="The fallen tree" width="320"
        onerror="alert('x')"></p>
<img src="https://tracker.example/open.gif?id=42" width="1" height="1" alt="">
<div>Thanks<br>-- <br>Tom Reed<br>Riverside Residents</div></div>
<div class="gmail_quote"><div>On Mon, 30 Nov 2026 at 09:12, Riverton City Hall
&lt;help@riverton.example&gt; wrote:<br></div>
<blockquote class="gmail_quote">Please send us a photo of the tree.</blockquote></div>
</body></html>"""


def html_only_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Tom Reed <tom.reed@example.org>"
    message["To"] = "help@riverton.example"
    message["Subject"] = "Fallen tree in Riverside Park"
    message["Message-ID"] = "<tree-1@mail.example>"
    message.set_content(HTML, subtype="html")
    message.add_related(
        PNG, maintype="image", subtype="png", cid="<tree-photo@mail.example>", filename="tree.png"
    )
    return message.as_bytes()


def accept_html_mail() -> Case:
    envelope = Envelope("tom.reed@example.org", ("help@riverton.example",))
    return accept("email", RawPayload(html_only_mail(), "message/rfc822", envelope.to_headers()))
