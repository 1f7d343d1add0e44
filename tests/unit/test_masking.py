import logging

from bot.compliance.masking import MaskingFilter, mask


def test_masks_id_card_bank_card_phone_and_email():
    text = "身份证110101199003071234，卡号6222020000001234567，手机13812345678，邮箱zhang.san@example.com"
    masked = mask(text)
    assert "110101199003071234" not in masked and "**************1234" in masked
    assert "6222020000001234567" not in masked and "***************4567" in masked
    assert "13812345678" not in masked and "138****5678" in masked
    assert "zhang.san@" not in masked and "z***@example.com" in masked


def test_masks_id_card_with_x_and_spaced_card_numbers():
    assert mask("ID 11010119900307123X") == "ID **************123X"
    assert mask("card 6222 0200 0000 1234") == "card ************1234"


def test_leaves_amounts_and_short_numbers_alone():
    assert mask("转账 12,345.67 元，验证码 123456") == "转账 12,345.67 元，验证码 123456"


def test_log_filter_masks_formatted_messages():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "phone %s", ("13812345678",), None)
    MaskingFilter().filter(record)
    assert record.getMessage() == "phone 138****5678"


def test_wechat_openids_are_masked_in_logs_and_records():
    from bot.compliance.masking import mask

    openid = "oAbC" + "x" * 20 + "9_-Z"
    assert mask(f"follower {openid} asked") == "follower oAbC…9_-Z asked"
    assert mask("order_12345 and oBrief") == "order_12345 and oBrief"  # not 28 characters: kept
