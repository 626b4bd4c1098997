"""Owns the fake's account and room REST routes: login, me, users.info, im.create/dm.create,
rooms.info, channels.*/groups.* info and members (ROCKETCHAT.md §2.1, §2.4)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from tests.fakes.rocketchat_chat import opt_str
from tests.fakes.rocketchat_http import (
    STATE_KEY,
    ApiError,
    current_user,
    json_object,
    json_response,
    success,
)
from tests.fakes.rocketchat_model import FakeRoom, FakeUser, JsonObj
from tests.fakes.rocketchat_state import FakeState


def _login_user(state: FakeState, body: JsonObj) -> FakeUser | None:
    """The four body forms of POST /api/v1/login (§2.1)."""
    resume = opt_str(body, "resume")
    if resume is not None:
        return next((u for u in state.users.values() if resume in u.tokens), None)
    key = opt_str(body, "user") or opt_str(body, "username") or opt_str(body, "email") or ""
    by_email = "@" in key  # `user` holding an @ is an email (§2.1)
    user = next(
        (u for u in state.users.values() if (u.email if by_email else u.username) == key), None
    )
    if user is None or user.password is None or body.get("password") != user.password:
        return None
    return user


async def login(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    user = _login_user(state, await json_object(request))
    if user is None:
        return json_response({"success": False, "error": "unauthorized"}, 401)  # 8.x (§2.1)
    token = state.new_id(43)
    user.tokens.append(token)
    data: JsonObj = {"userId": user.id, "authToken": token, "me": user.me(state.site_url)}
    return success({"status": "success", "data": data})


async def me(request: web.Request) -> web.Response:
    return success(current_user(request).me(request.app[STATE_KEY].site_url))


async def users_info(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    key = request.query.get("userId") or request.query.get("username")
    if not key:
        raise ApiError.invalid_query(["must have required property 'userId'"])
    user = state.users.get(key) if "userId" in request.query else state.user_by_username(key)
    if user is None:
        raise ApiError.failure("User not found.")  # text UNCONFIRMED (§2.4 "Things not confirmed")
    return success({"user": user.document()})


async def im_create(request: web.Request) -> web.Response:
    state, user = request.app[STATE_KEY], current_user(request)
    body = await json_object(request)
    names = opt_str(body, "username") or opt_str(body, "usernames")
    if names is None:
        raise ApiError.invalid_body(["must have required property 'username'"])
    others = [state.user_by_username(n.strip()) for n in names.split(",") if n.strip()]
    if not others or any(o is None for o in others):
        raise ApiError.meteor("error-invalid-user", "Invalid user")  # text UNCONFIRMED
    people = [o for o in others if o is not None]
    if not (body.get("excludeSelf") and len(people) > 0):
        people.append(user)
    room = state.direct_room(people)
    return success({"room": {**room.document(), "rid": room.id}})


def _find_room(state: FakeState, query: Mapping[str, str], kind: str) -> FakeRoom:
    """findRoomByIdOrName and its error texts (§2.4 rooms.info, channels.info, groups.info)."""
    room_id, room_name = query.get("roomId"), query.get("roomName")
    if not room_id and not room_name:
        raise ApiError.meteor(
            "error-roomid-param-not-provided", 'The parameter "roomId" or "roomName" is required'
        )
    room = state.rooms.get(room_id) if room_id else state.room_by_name(room_name or "")
    if room is None:
        raise ApiError.meteor(
            "error-room-not-found",
            f'The required "roomId" or "roomName" param provided does not match any {kind}',
        )
    return room


async def rooms_info(request: web.Request) -> web.Response:
    state, user = request.app[STATE_KEY], current_user(request)
    room = _find_room(state, request.query, "channel")
    if room.archived:
        raise ApiError.meteor("error-room-archived", f"The channel, {room.name}, is archived")
    if not state.can_access(user, room):
        raise ApiError.failure("not-allowed", "Not Allowed")
    return success({"room": room.document()})


def _typed_room(request: web.Request, room_type: str) -> FakeRoom:
    """channels.* want `t` c (or l); groups.* want `t` p and access, else not found (§2.4)."""
    state, user = request.app[STATE_KEY], current_user(request)
    kind = "channel" if room_type == "c" else "group"
    room = _find_room(state, request.query, kind)
    if room.type != room_type or not state.can_access(user, room):
        raise ApiError.meteor(
            "error-room-not-found",
            f'The required "roomId" or "roomName" param provided does not match any {kind}',
        )
    return room


async def channels_info(request: web.Request) -> web.Response:
    return success({"channel": _typed_room(request, "c").document()})


async def groups_info(request: web.Request) -> web.Response:
    return success({"group": _typed_room(request, "p").document()})


def _members(request: web.Request, room: FakeRoom) -> web.Response:
    state = request.app[STATE_KEY]
    offset = int(request.query.get("offset", "0"))
    count = int(request.query.get("count", "50"))
    people = [state.users[uid] for uid in room.members]
    page = people[offset : offset + count] if count else people[offset:]
    members: list[JsonObj] = [
        {**u.brief(), "status": u.status, "_updatedAt": u.document()["_updatedAt"]} for u in page
    ]
    body: JsonObj = {"members": members, "count": len(members), "offset": offset}
    return success({**body, "total": len(people)})


async def channels_members(request: web.Request) -> web.Response:
    return _members(request, _typed_room(request, "c"))


async def groups_members(request: web.Request) -> web.Response:
    return _members(request, _typed_room(request, "p"))


def add_room_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/login", login)
    app.router.add_get("/api/v1/me", me)
    app.router.add_get("/api/v1/users.info", users_info)
    app.router.add_post("/api/v1/im.create", im_create)
    app.router.add_post("/api/v1/dm.create", im_create)
    app.router.add_get("/api/v1/rooms.info", rooms_info)
    app.router.add_get("/api/v1/channels.info", channels_info)
    app.router.add_get("/api/v1/groups.info", groups_info)
    app.router.add_get("/api/v1/channels.members", channels_members)
    app.router.add_get("/api/v1/groups.members", groups_members)
