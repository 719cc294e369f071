"""The notice every benchmark sends, ours and Apprise's alike: the same title and body.

Plain constants, importable by ``scenarios.py`` (our environment) and ``apprise_peer.py``
(Apprise's own venv) alike: both run as scripts from this folder.
"""

BODY = (
    "为进一步做好本市防汛防台工作，保障人民群众生命财产安全，现将有关事项通知如下：\n\n"
    "一、各区、各部门要严格落实防汛责任制，加强值班值守，确保信息畅通。\n\n"
    "二、加强对地下空间、低洼地带、危旧房屋和在建工地的巡查，发现隐患立即处置。\n\n"
    "三、市民朋友请关注气象部门发布的最新预警信息，减少不必要的外出。\n\n"
    "特此通知。"
)


def title(i: int) -> str:
    return f"关于做好汛期安全防范工作的通知(第{i}号)"
