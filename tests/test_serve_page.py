"""The page `seqtag serve` shows at /, in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) driven through WebDriver by Selenium. Text pasted and submitted is highlighted as the API tags it,
and markup in the text stays text."""

import shutil

import pytest

from test_serve import Server

pytestmark = pytest.mark.slow
webdriver = pytest.importorskip("selenium.webdriver")
if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
    pytest.skip("Chromium and its driver are not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402  (after the skip: selenium may be missing)
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

TEXT = ("Christine Lagarde spoke in Frankfurt on Thursday.\nShares of Siemens rose 3 percent after the "
        "European Central Bank met.")
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"> Peter met <b>Anna</b> in Paris.'
# each highlighted span as shown: its text (the mark's first text node) and its type (the label inside the mark)
SHOWN = ("return [...document.querySelectorAll('#out mark.entity')]"
         ".map(m => [m.firstChild.textContent, m.querySelector('span').textContent])")


@pytest.fixture(scope="module")
def server(hmm_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    shutil.copytree(hmm_model, folder / "hmm")
    running = Server("-m", "en-ner", "-m", folder / "hmm", "--max-tokens", 100)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def submit(browser, server, model: str, text: str) -> list[list[str]]:
    """Open the page, choose the model, paste the text, press Tag; the spans highlighted once the answer is in."""
    browser.get(server.url + "/")
    Select(browser.find_element(By.ID, "model")).select_by_visible_text(model)
    box = browser.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "out").text.strip())
    return browser.execute_script(SHOWN)


def api_spans(server, model: str, text: str) -> list[list[str]]:
    status, _, answer = server.call("/tag", {"model": model, "text": text})
    assert status == 200
    return [[span["text"], span["label"]] for record in answer["results"] for span in record["spans"]]


def test_pasted_text_is_highlighted_as_the_api_tags_it(browser, server, tmp_path):
    shown = submit(browser, server, "en-ner", TEXT)
    # the page sends the text as typed, line break and all; the API is given the same text
    assert shown == api_spans(server, "en-ner", TEXT)
    assert ["Christine Lagarde", "PER"] in shown and ["Frankfurt", "LOC"] in shown
    out = browser.find_element(By.ID, "out")
    # the words between the spans too, each sentence once (each used to repeat its whole line)
    assert out.text.count("Christine Lagarde") == 1 and out.text.count("3 percent") == 1
    browser.save_screenshot(str(tmp_path / "page.png"))
    from matplotlib.image import imread

    pixels = imread(tmp_path / "page.png")
    assert pixels.shape[1] == 1200 and pixels.shape[0] > 600 and pixels.std() > 0.05  # drawn, not blank
    # another model, chosen in the list, answers with its own labels
    assert submit(browser, server, "hmm", "Peter went to Paris .") == api_spans(server, "hmm", "Peter went to Paris .")


def test_markup_in_the_text_stays_text(browser, server):
    shown = submit(browser, server, "en-ner", HOSTILE)
    assert shown == api_spans(server, "en-ner", HOSTILE)
    out = browser.find_element(By.ID, "out")
    assert out.find_elements(By.TAG_NAME, "img") == [] and out.find_elements(By.TAG_NAME, "b") == []
    assert "<img src=x" in out.text and browser.title == "seqtag serve"  # shown as typed; its script never ran


def test_a_refusal_is_shown_as_its_message(browser, server):
    long = "word " * 120
    shown = submit(browser, server, "en-ner", long)
    status, _, answer = server.call("/tag", {"model": "en-ner", "text": long})
    assert shown == [] and status == 413
    assert browser.find_element(By.ID, "out").text == answer["error"] == "120 tokens in one request; the limit is 100"
