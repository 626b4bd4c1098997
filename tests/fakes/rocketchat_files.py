"""Owns files in the fake: rooms.media + rooms.mediaConfirm uploads, the file message they
make, and authenticated `/file-upload/<id>/<name>` downloads (ROCKETCHAT.md §2.4, §5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aiohttp import BodyPartReader, hdrs, web

from tests.fakes.rocketchat_chat import check_size, opt_str
from tests.fakes.rocketchat_http import STATE_KEY, ApiError, current_user, json_object, success
from tests.fakes.rocketchat_model import (
    FakeFile,
    FakeRoom,
    FakeUser,
    JsonObj,
    StoredMessage,
    StoredUpload,
)
from tests.fakes.rocketchat_state import FakeState

# The keys rooms.mediaConfirm takes out of the body, then the Match.Maybe({...}) whitelist of
# the rest: anything else is a Match error (§2.4).
_CONFIRM_KEYS = frozenset({"description", "fileName", "fileContent"}) | frozenset(
    {"avatar", "emoji", "alias", "groupable", "msg", "tmid", "customFields", "t", "content"}
)


def _entry(upload: StoredUpload, fmt: str) -> JsonObj:
    group = upload.type_group or upload.content_type.split("/")[0]
    return {
        "_id": upload.id,
        "name": upload.name,
        "type": upload.content_type,
        "size": upload.size,
        "format": fmt,
        "typeGroup": group,
    }


def _thumbnail(state: FakeState, upload: StoredUpload) -> StoredUpload:
    """A `thumb-<name>` upload (§5). No image library here, so it holds the original bytes."""
    thumb = replace(
        upload, id=state.new_id(), name=f"thumb-{upload.name}", type_group="thumb", confirmed=True
    )
    state.uploads[thumb.id] = thumb
    return thumb


def file_parts(
    state: FakeState,
    upload: StoredUpload,
    description: str | None,
    dimensions: tuple[int, int] | None = None,
) -> tuple[list[JsonObj], list[JsonObj]]:
    """`files` and `attachments` of a file message, per media kind (§5)."""
    kind, _, subtype = upload.content_type.partition("/")
    files = [_entry(upload, subtype if kind == "image" else "")]
    attachment: JsonObj = {"title": upload.name, "type": "file"}
    if description is not None:  # JSON.stringify drops an undefined description
        attachment["description"] = description
    attachment.update({"title_link": upload.path, "title_link_download": True})
    attachment["fileId"] = upload.id
    if kind == "image":
        thumb = _thumbnail(state, upload)
        files.append(_entry(thumb, subtype))
        attachment.update(
            {"image_url": thumb.path, "image_type": thumb.content_type, "image_size": upload.size}
        )
        if dimensions is not None:
            attachment["image_dimensions"] = {"width": dimensions[0], "height": dimensions[1]}
    elif kind in ("audio", "video"):
        attachment.update(
            {
                f"{kind}_url": upload.path,
                f"{kind}_type": upload.content_type,
                f"{kind}_size": upload.size,
            }
        )
    else:
        extension = upload.name.rpartition(".")[2] if "." in upload.name else ""
        attachment.update({"format": extension, "size": upload.size})
    return files, [attachment]


def file_message(
    state: FakeState,
    user: FakeUser,
    upload: StoredUpload,
    *,
    msg: str,
    description: str | None,
    tmid: str | None,
    via: str,
    dimensions: tuple[int, int] | None = None,
) -> StoredMessage:
    """sendFileMessage's message: caption in `msg`, `file` = files[0], not groupable (§5)."""
    upload.confirmed, upload.expires_at = True, None
    files, attachments = file_parts(state, upload, description, dimensions)
    return StoredMessage(
        id=state.new_id(),
        rid=upload.room_id,
        msg=msg,
        ts=state.now(),
        user=user,
        via=via,
        tmid=tmid,
        attachments=attachments,
        groupable=False,
        file=files[0],
        files=files,
    )


def user_message(
    state: FakeState,
    room: FakeRoom,
    user: FakeUser,
    text: str,
    *,
    tmid: str | None,
    file: FakeFile | None,
) -> StoredMessage:
    """A message a person types in the client, with an optional file already uploaded."""
    if file is None:
        now = state.now()
        return StoredMessage(state.new_id(), room.id, text, now, user, "user", tmid=tmid)
    upload = StoredUpload(
        id=state.new_id(),
        name=file.name,
        content_type=file.content_type,
        content=file.content,
        room_id=room.id,
        user_id=user.id,
        created_at=state.now(),
        expires_at=None,
    )
    state.uploads[upload.id] = upload
    return file_message(
        state,
        user,
        upload,
        msg=text,
        description=file.description,
        tmid=tmid,
        via="user",
        dimensions=file.image_dimensions,
    )


def _accessible_room(request: web.Request) -> FakeRoom:
    state, user = request.app[STATE_KEY], current_user(request)
    room = state.rooms.get(request.match_info["rid"])
    if room is None or not state.can_access(user, room):
        raise ApiError.forbidden()  # "No access to the room → 403" (§2.4)
    return room


async def _read_file_part(request: web.Request) -> tuple[str, str, bytes] | None:
    if not request.content_type.startswith("multipart/"):
        return None
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "file" and part.filename:
            content_type = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
            return part.filename, content_type, bytes(await part.read(decode=True))
    return None


async def rooms_media(request: web.Request) -> web.Response:
    state, user = request.app[STATE_KEY], current_user(request)
    room = _accessible_room(request)
    part = await _read_file_part(request)  # `msg`/`description` fields are ignored here
    if part is None:
        raise ApiError.meteor("error-no-file-uploaded", "No file uploaded")
    name, content_type, content = part
    now = state.now()
    upload = StoredUpload(
        id=state.new_id(),
        name=name,
        content_type=content_type,
        content=content,
        room_id=room.id,
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(hours=24),  # a temporary upload until confirmed
    )
    state.uploads[upload.id] = upload
    return success({"file": {"_id": upload.id, "url": upload.path}})


async def rooms_media_confirm(request: web.Request) -> web.Response:
    state, user = request.app[STATE_KEY], current_user(request)
    room = _accessible_room(request)
    body = await json_object(request)
    for key in body:
        if key not in _CONFIRM_KEYS:
            error = f"Match error: Unknown key in field {key}"
            raise ApiError(400, {"success": False, "error": error, "errorType": "Match.Error"})
    upload = state.uploads.get(request.match_info["file_id"])
    if upload is None or upload.room_id != room.id or upload.user_id != user.id:
        raise ApiError.meteor("invalid-file")
    description = opt_str(body, "description")
    check_size(state, description)
    upload.name = opt_str(body, "fileName") or upload.name
    message = file_message(
        state,
        user,
        upload,
        msg=opt_str(body, "msg") or "",
        description=description,
        tmid=opt_str(body, "tmid"),
        via="rooms.mediaConfirm",
    )
    state.save_message(message)  # afterSaveMessage: the `sendMessage` event (§1.1)
    state.notify(message, "fileUploaded")  # sendFileMessage's afterFileUpload (§1.1)
    return success({"message": message.to_json()})


def _file_user(request: web.Request) -> FakeUser | None:
    """FileUpload_ProtectFiles: headers, then `rc_uid`/`rc_token` query, then cookies (§5)."""
    state = request.app[STATE_KEY]
    for source in (
        (request.headers.get("X-User-Id"), request.headers.get("X-Auth-Token")),
        (request.query.get("rc_uid"), request.query.get("rc_token")),
        (request.cookies.get("rc_uid"), request.cookies.get("rc_token")),
    ):
        if (user := state.authenticate(*source)) is not None:
            return user
    return None


async def download(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    upload = state.uploads.get(request.match_info["file_id"])  # the name part is not checked
    if upload is None:
        return web.Response(status=404)
    user = _file_user(request)
    # FileUpload_Restrict_to_room_members: a subscription is needed, even for a channel (§5).
    if user is None or not state.is_member(user, state.rooms[upload.room_id]):
        return web.Response(status=403)  # empty body
    headers = {
        hdrs.CONTENT_TYPE: upload.content_type,
        "Content-Security-Policy": "default-src 'none'",
        hdrs.CACHE_CONTROL: "max-age=31536000",
    }
    return web.Response(body=upload.content, headers=headers)


def add_file_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/rooms.media/{rid}", rooms_media)
    app.router.add_post("/api/v1/rooms.mediaConfirm/{rid}/{file_id}", rooms_media_confirm)
    app.router.add_get("/file-upload/{file_id}/{name:.*}", download)
