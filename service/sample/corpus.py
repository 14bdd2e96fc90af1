# Copyright 2026 chat-import-service contributors
# ruff: noqa: RUF001 - the text is multilingual on purpose; look-alike letters are real letters
"""Multilingual text the sample export is made of: group names, profiles, chat lines, places.

Every pool is plain data. Group names are short enough for the 30-byte limit in UTF-8 (a CJK
character is 3 bytes, an emoji 4, a Cyrillic or Arabic letter 2), which the tests check.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("zh", "ja", "ko", "ar", "hi", "ru", "es", "en", "emoji")

GROUP_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "zh": (
        "周末徒步俱乐部",
        "深圳摄影爱好者",
        "家庭群🏠",
        "大学同学会",
        "读书会·第三期",
        "产品研发周会",
        "羽毛球约起来🏸",
        "宝妈交流群",
        "上海美食地图",
        "高校数学教师交流群组",
    ),
    "ja": (
        "週末キャンプ部",
        "東京ラーメン巡り",
        "猫好き集まれ🐈",
        "英会話サークル",
        "同期入社2019",
        "推し活の部屋",
        "京都散歩の会",
    ),
    "ko": (
        "주말 등산 모임",
        "서울 맛집 탐방",
        "코딩 스터디",
        "우리 가족 💕",
        "K-POP 팬클럽",
        "대학동아리선후배모임",
    ),
    "ar": (
        "نادي القراءة",
        "عشاق القهوة ☕",
        "فريق التصميم",
        "أصدقاء الجامعة",
    ),
    "hi": (
        "योग क्लब",
        "परिवार 🏡",
        "दोस्त लोग",
        "चाय चर्चा ☕",
    ),
    "ru": (
        "Книжный клуб",
        "Бег по утрам",
        "Дача и сад 🌻",
        "Шахматы онлайн",
        "Одноклассники",
    ),
    "es": (
        "Amigos del fútbol ⚽",
        "Cocina con la abuela",
        "Viajes por España",
        "Mamás del cole",
        "Equipo de diseño",
    ),
    "en": (
        "Hiking club",
        "Night owls 🦉",
        "Book nerds 📚",
        "Ops on-call",
        "Family ❤️",
        "Release train 2.4",
    ),
    "emoji": (
        "🎮🎮 Gamers 🎮🎮",
        "🌏✈️ Travel",
        "🍕🍣🌮",
        "🐶🐱 Pet pals",
        "🏃‍♀️ 5K every Sunday",
    ),
}

# A name well within 30 characters but over 30 bytes: 15 characters, 45 bytes in UTF-8.
OVERLONG_GROUP_NAME: Final = "週末ハイキング同好会・関東支部"
AVCHATROOM_GROUP_NAME: Final = "Live Q&A 直播间"

INTRO_SENTENCES: Final[dict[str, tuple[str, ...]]] = {
    "zh": (
        "欢迎新朋友！",
        "本群每周六早上八点集合。",
        "请大家文明发言，互相尊重。",
        "活动照片会统一上传到群相册。",
        "有问题可以私聊群主。",
    ),
    "ja": (
        "ようこそ！",
        "毎月第二土曜日に集まります。",
        "初心者の方も大歓迎です。",
        "写真はアルバムに共有してください。",
    ),
    "ko": (
        "환영합니다!",
        "매주 토요일 오전에 모여요.",
        "서로 존중하는 대화 부탁드려요.",
        "사진은 앨범에 올려 주세요.",
    ),
    "ar": (
        "أهلاً وسهلاً بكم!",
        "نلتقي كل يوم جمعة بعد الصلاة.",
        "يرجى احترام الجميع في النقاش.",
    ),
    "hi": (
        "आपका स्वागत है!",
        "हम हर रविवार सुबह मिलते हैं।",
        "कृपया विनम्र रहें।",
    ),
    "ru": (
        "Добро пожаловать!",
        "Встречаемся по субботам в 10:00.",
        "Пожалуйста, без спама и рекламы.",
        "Фото выкладываем в общий альбом.",
    ),
    "es": (
        "¡Bienvenidos!",
        "Quedamos los domingos a las 11.",
        "Por favor, respeto ante todo.",
        "Las fotos van al álbum compartido.",
    ),
    "en": (
        "Welcome aboard!",
        "We meet every other Thursday at 7pm.",
        "Be kind, stay on topic.",
        "Photos go to the shared album.",
    ),
    "emoji": (
        "👋🙂",
        "📅 Sundays ⏰ 9:00",
        "🚫 spam 🚫 ads",
        "📸 ➡️ album",
    ),
}

NOTICE_SENTENCES: Final[dict[str, tuple[str, ...]]] = {
    "zh": ("【通知】本周活动改到周日。", "请在周五前报名。", "费用AA，现场结算。"),
    "ja": ("【お知らせ】今週の集まりは日曜日に変更です。", "参加希望は金曜までに。"),
    "ko": ("[공지] 이번 주 모임은 일요일로 변경됩니다.", "금요일까지 신청해 주세요."),
    "ar": ("تنبيه: تم تغيير موعد اللقاء إلى يوم الأحد.", "التسجيل حتى يوم الخميس."),
    "hi": ("सूचना: इस हफ़्ते की बैठक रविवार को होगी।", "कृपया शुक्रवार तक नाम दें।"),
    "ru": ("Внимание: встреча переносится на воскресенье.", "Запись до пятницы."),
    "es": ("Aviso: la quedada pasa al domingo.", "Apuntaos antes del viernes."),
    "en": ("Heads-up: this week's meetup moves to Sunday.", "Sign up by Friday."),
    "emoji": ("📢 ➡️ 🗓️ Sunday", "✍️ before Friday"),
}

CHAT_LINES: Final[dict[str, tuple[str, ...]]] = {
    "zh": (
        "大家早上好！",
        "今天天气不错，适合出去走走。",
        "我到了，在地铁站B口等你们。",
        "这家店的小笼包真的绝了",
        "周末有人一起去爬山吗？",
        "收到，谢谢！",
        "哈哈哈哈笑死我了",
        "文件我已经发到邮箱了，请查收。",
        "晚上八点开会，别忘了。",
        "红包已发，手慢无～",
        "这个问题我明天再看一下。",
        "刚下班，累死了。",
    ),
    "ja": (
        "おはようございます！",
        "今日は雨なので中止にしましょうか。",
        "了解です🙆‍♀️",
        "駅の改札前に着きました。",
        "このラーメン屋、めっちゃ美味しい！",
        "明日の資料、共有しておきますね。",
        "お疲れさまでした〜",
        "写真ありがとうございます！",
        "すみません、5分ほど遅れます。",
    ),
    "ko": (
        "안녕하세요!",
        "오늘 모임 몇 시에 시작해요?",
        "ㅋㅋㅋㅋ 진짜 웃기다",
        "저 지금 출발해요.",
        "자료 공유드립니다.",
        "수고하셨습니다!",
        "다음 주에 다시 봐요~",
        "사진 너무 잘 나왔어요 😍",
    ),
    "ar": (
        "صباح الخير يا جماعة!",
        "متى نلتقي اليوم؟",
        "شكراً جزيلاً 🙏",
        "وصلت، أنا عند المدخل الرئيسي.",
        "الملف في المرفقات.",
        "إن شاء الله نلتقي الأسبوع القادم.",
        "الاجتماع الساعة 8 مساءً.",
    ),
    "hi": (
        "सुप्रभात सभी को!",
        "आज मीटिंग कितने बजे है?",
        "धन्यवाद 🙏",
        "मैं रास्ते में हूँ, दस मिनट में पहुँचूँगा।",
        "बहुत बढ़िया फोटो!",
        "कल मिलते हैं।",
    ),
    "ru": (
        "Всем привет!",
        "Во сколько сегодня собираемся?",
        "Спасибо, получил.",
        "Я уже на месте, у входа.",
        "Отличные фото 👍",
        "Завтра созвон в 10:30, не забудьте.",
        "Кто-нибудь видел мои ключи?",
    ),
    "es": (
        "¡Buenos días a todos!",
        "¿A qué hora quedamos?",
        "Ya llegué, estoy en la entrada.",
        "¡Qué bonitas fotos!",
        "Mañana no puedo, lo siento 😔",
        "¿Alguien tiene el número del restaurante?",
        "Vale, perfecto.",
    ),
    "en": (
        "Morning all!",
        "Running 5 minutes late, sorry.",
        "Can someone share the doc again?",
        "Deploy is green ✅",
        "Who's bringing snacks on Saturday?",
        "Thanks, that fixed it.",
        "lol",
        "See you at the trailhead at 8.",
    ),
    "emoji": (
        "👍",
        "😂😂😂",
        "🎉🎉",
        "❤️",
        "👍🏽👍🏿",
        "🇯🇵🇰🇷🇨🇳",
        "👨‍👩‍👧‍👦",
        "🙏✨",
    ),
}

SHORT_REPLIES: Final = (
    "ok",
    "+1",
    "好的",
    "收到",
    "はい",
    "네",
    "ㅋㅋㅋ",
    "جيد",
    "ठीक है",
    "ага",
    "vale",
    "👌",
)

EMOJI: Final = (
    "😀",
    "😂",
    "🥲",
    "😍",
    "🤔",
    "👍",
    "👍🏻",
    "🙏🏾",
    "🎉",
    "🔥",
    "❤️",
    "✅",
    "🇪🇸",
    "🧑‍💻",
    "👩‍❤️‍👨",
    "🏳️‍🌈",
)

# Texts that are hard to carry byte for byte: escapes, controls, bidi runs, combining marks.
TRICKY_TEXTS: Final = (
    'He said "hi" and left \\o/',
    "line one\nline two\n\tindented line three",
    "path C:\\Users\\mei\\Desktop\\报告.docx",
    "Cafe\u0301 vs Caf\u00e9 (same word, two spellings)",
    "مرحبا Hello שלום 你好",
    "RTL mark \u200fتجربة\u200f then LTR",
    "zero\u200bwidth\u200bspaces",
    "@mei_chen @yuki.tanaka please check",
    "https://example.com/path?q=测试&lang=zh#top",
    "<b>not html</b> & 'quotes' \u00a0nbsp",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝒎𝒂𝒕𝒉 and 𠀀𠀁 (outside the BMP)",
    "tab\there, bell\u0007, escape\u001b[0m",
)

FACE_DATA: Final = ("[smile]", "[微笑]", "face:13", "abc\u0000\u0001", "", "😺")

CUSTOM_KINDS: Final = (
    ("red_packet", "红包", "恭喜发财，大吉大利"),
    ("vote", "投票", "Where should we go next?"),
    ("order", "Pedido", "Pedido #10023"),
    ("sticker", "スタンプ", "よろしく"),
    ("card", "명함", "김민준 · 디자이너"),
    ("poll", "Опрос", "Пятница или суббота?"),
)

CUSTOM_SOUNDS: Final = ("", "dingdong.aiff", "coin.caf", "default")

PLACES: Final = (
    ("深圳湾公园", 22.516700, 113.944100),
    ("東京タワー", 35.658600, 139.745400),
    ("경복궁", 37.579600, 126.977000),
    ("برج خليفة", 25.197200, 55.274400),
    ("इंडिया गेट", 28.612900, 77.229500),
    ("Красная площадь", 55.753900, 37.620800),
    ("Sagrada Família", 41.403600, 2.174400),
    ("Praia de Copacabana", -22.971100, -43.182200),
    ("Sydney Opera House", -33.856800, 151.215300),
    ("Golden Gate Bridge", 37.819900, -122.478300),
)

FIRST_NAMES: Final = (
    "mei",
    "wei",
    "yuki",
    "haruto",
    "minjun",
    "jiwoo",
    "omar",
    "fatima",
    "priya",
    "arjun",
    "dmitri",
    "olga",
    "lucia",
    "mateo",
    "emma",
    "liam",
    "amara",
    "kofi",
)

FAMILY_NAMES: Final = (
    "chen",
    "wang",
    "tanaka",
    "sato",
    "kim",
    "park",
    "haddad",
    "rahman",
    "sharma",
    "patel",
    "volkov",
    "ivanova",
    "garcia",
    "lopez",
    "smith",
    "okafor",
)

APP_DEFINED: Final = (
    ("region", ("apac", "emea", "amer", "华南")),
    ("legacy_id", ("10023", "88412", "7", "3000017")),
    ("tier", ("free", "pro", "enterprise")),
    ("blob", ("abc\u0000\u0001", "\u0002\u0003payload\u0000", "AAEC/w==")),
)
