"""chat-import-service: migrate group chats from Kafka into Tencent Cloud Chat and ZEGOCLOUD ZIM."""
