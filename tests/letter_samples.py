"""A representative 督办函 built from facts like the sample ledger's problem 5, for the official-letter tests
and the README screenshots."""

from __future__ import annotations

from datetime import date

from reports.official.letter import LetterDoc, Milestone, compose_supervision_letter

ISSUED = date(2024, 1, 10)


def supervision_letter(**overrides) -> LetterDoc:
    facts = dict(
        organ_mark="阳城县人民政府督查室",
        number="阳督函〔2024〕3号",
        issued=ISSUED,
        unit="阳城县自然资源局",
        project="化工园区基础设施建设",
        topic="用地",
        problem_title="化工园区污水处理厂及管网用地缺补充耕地指标，占补平衡未落实",
        description=(
            "化工园区污水处理厂及配套管网需占用耕地约42亩，县域内补充耕地储备指标已用完，占补平衡无法落实，"
            "用地报批停滞。\n"
            "2023年12月27日，县政府分管领导召开专题协调会，明确由县自然资源局向市局申请跨县调剂指标，"
            "开发区同步测算购买指标所需资金。"
        ),
        background="该问题于2023年12月交办，经县级领导牵头协调，指标来源仍未落实",
        deploy=Milestone("研究部署", date(2024, 1, 11), "1日内"),
        feedback=Milestone("反馈办理情况", date(2024, 1, 13), "3日内"),
        settle=Milestone("落实到位", date(2024, 1, 17), "7日内"),
        contact="张敏",
        phone="0356-4222222",
        report_to="县政府督查室",
        copy_to=["县委督查室", "县政府办公室", "阳城经济技术开发区管委会"],
        attachments=["“13710”督办事项办理情况反馈表"],
    )
    facts.update(overrides)
    return compose_supervision_letter(**facts)
